"""The product's URLs plus ``POST /bench/bare``: a Django view that answers 200 and does nothing else.

Used by ``bench.ingest`` as the baseline served by the same gunicorn, settings and middleware.
"""

from django.http import HttpRequest, HttpResponse
from django.urls import path
from django.views.decorators.csrf import csrf_exempt

from openfactura_app.urls import urlpatterns as product_urlpatterns


@csrf_exempt
def bare(request: HttpRequest) -> HttpResponse:
    request.body  # noqa: B018 - read the body like the receiver does
    return HttpResponse(b'{"message": "ok"}', content_type="application/json")


urlpatterns = [path("bench/bare", bare), *product_urlpatterns]
