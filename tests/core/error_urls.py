"""The product's URLs plus views that fail on purpose under a merchant, a customer and another prefix."""

from django.core.exceptions import BadRequest, PermissionDenied
from django.http import Http404
from django.urls import path

from core.errors import error_response
from openfactura_app.urls import handler400, handler403, handler404, handler500  # noqa: F401
from openfactura_app.urls import urlpatterns as product_urlpatterns

SECRET = "detalle-interno-secreto"


def failing(request, status: int):
    if status == 400:
        raise BadRequest(SECRET)
    if status == 403:
        raise PermissionDenied(SECRET)
    if status == 404:
        raise Http404(SECRET)
    if status in (410, 429):
        return error_response(request, status)
    raise RuntimeError(SECRET)


urlpatterns = [
    path("app/prueba-error/<int:status>/", failing),
    path("jumpseller/app/prueba-error/<int:status>/", failing),
    path("documento/prueba-error/<int:status>/", failing),
    path("prueba-error/<int:status>/", failing),
    *product_urlpatterns,
]
