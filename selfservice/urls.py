"""Customer pages under ``/documento/`` (the link in the customer's email)."""

app_name = "selfservice"

urlpatterns: list = []
