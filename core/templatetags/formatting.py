"""Template filters ``clp`` and ``rut`` (loaded as builtins in every template)."""

from django import template

from core.formatting import format_clp, format_rut

register = template.Library()
register.filter("clp", format_clp)
register.filter("rut", format_rut)
