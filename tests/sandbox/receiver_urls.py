"""URLconf for webhook tests over real sockets: the project's URLs plus a throwaway receiver."""

from __future__ import annotations

import threading

from django.http import HttpResponse
from django.urls import path
from django.views.decorators.csrf import csrf_exempt

from openfactura_app.urls import urlpatterns as project_patterns

received: list[dict] = []
lock = threading.Lock()
behaviour: dict = {"barrier": None, "statuses": []}


@csrf_exempt
def receiver(request):
    with lock:
        received.append({"headers": dict(request.headers), "body": request.body})
        status = behaviour["statuses"].pop(0) if behaviour["statuses"] else 200
    barrier = behaviour["barrier"]
    if barrier is not None:
        try:
            barrier.wait()
        except threading.BrokenBarrierError:
            return HttpResponse("not concurrent", status=500)
    return HttpResponse("recibido", status=status)


urlpatterns = [path("test-receiver/", receiver), *project_patterns]
