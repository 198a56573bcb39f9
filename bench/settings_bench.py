"""Settings for the benchmarks: the product's settings plus ``bench.urls`` (adds a bare 200 view)."""

from openfactura_app.settings import *  # noqa: F403

ROOT_URLCONF = "bench.urls"
