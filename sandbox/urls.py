"""URLs under ``/sandbox/``: the fake Jumpseller, the control API, the mailbox and the pages for people.

* ``jumpseller/accounts/oauth/...`` — OAuth (``sandbox.oauth``), what ``JUMPSELLER_ACCOUNTS_URL`` points at;
* ``jumpseller/api/v1/...json`` — REST API (``sandbox.api``), what ``JUMPSELLER_API_URL`` points at;
* ``jumpseller/stores...`` without a trailing slash — control API (``sandbox.control``), JSON;
* ``jumpseller/stores/{code}/`` with a trailing slash — the store's page (``sandbox.pages``);
* ``mail`` — the pinned JSON list of emails; ``emails/`` — the emails for people;
* ``openfactura/`` — the fake OpenFactura (``sandbox.openfactura``).
"""

from django.urls import include, path, re_path

from . import api, control, oauth, pages

api_patterns = [
    path("store/info.json", api.store_info),
    path("orders.json", api.orders_list),
    path("orders/count.json", api.orders_count),
    path("orders/search.json", api.orders_search),
    path("orders/status/<str:status>.json", api.orders_by_status),
    path("orders/after/<int:order_id>.json", api.orders_after),
    path("orders/<int:order_id>.json", api.order_detail),
    path("orders/<int:order_id>/documents.json", api.order_documents),
    path("orders/<int:order_id>/documents/<str:public_id>.json", api.order_document),
    path("orders/<int:order_id>/history.json", api.order_history),
    path("documents.json", api.store_documents),
    path("customers/<int:customer_id>.json", api.customer_detail),
    path("hooks.json", api.hooks),
    path("hooks/<int:hook_id>.json", api.hook_detail),
    path("apps/<str:code>/install_status.json", api.install_status),
    re_path(r"^.*$", api.api_not_found),
]

S = "jumpseller/stores/<slug:code>"  # prefix of the per-store routes
store_patterns = [
    # Control API (JSON).
    path(S, control.store_detail),
    path(f"{S}/reset_hooks_token", control.store_reset_hooks_token),
    path(f"{S}/revoke", control.store_revoke),
    path(f"{S}/expire_tokens", control.store_expire_tokens),
    path(f"{S}/hooks", control.store_hooks),
    path(f"{S}/deliveries", control.store_deliveries),
    path(f"{S}/customers", control.store_customers),
    path(f"{S}/orders", control.store_orders),
    path(f"{S}/orders/<int:order_id>", control.store_order),
    path(f"{S}/orders/<int:order_id>/pay", control.order_pay),
    path(f"{S}/orders/<int:order_id>/cancel", control.order_cancel),
    path(f"{S}/orders/<int:order_id>/documents", control.order_documents),
    path(f"{S}/orders/<int:order_id>/history", control.order_history),
    # Pages for people (HTML; the forms post to ui/...).
    path(f"{S}/", pages.store_page, name="sandbox_store_page"),
    path(f"{S}/orders/<int:order_id>/", pages.order_page, name="sandbox_order_page"),
    path(f"{S}/ui/orders", pages.store_order_create, name="sandbox_store_order_create"),
    path(
        f"{S}/ui/orders/<int:order_id>/<slug:action>",
        pages.store_order_action,
        name="sandbox_store_order_action",
    ),
    path(f"{S}/ui/<slug:action>", pages.store_action, name="sandbox_store_action"),
]

urlpatterns: list = [
    path("", pages.index, name="sandbox_index"),
    path("ui/stores", pages.store_create, name="sandbox_store_create"),
    path("mail", control.mail_list, name="sandbox_mail"),
    path("mail/", control.mail_list),
    path("emails/", pages.email_list, name="sandbox_emails"),
    path("emails/<int:pk>/", pages.email_detail, name="sandbox_email"),
    path(
        "emails/<int:pk>/attachments/<int:attachment_id>",
        pages.email_attachment,
        name="sandbox_email_attachment",
    ),
    path("jumpseller/accounts/oauth/authorize", oauth.authorize, name="sandbox_oauth_authorize"),
    path("jumpseller/accounts/oauth/token", oauth.token, name="sandbox_oauth_token"),
    path("jumpseller/accounts/oauth/token/info", oauth.token_info),
    path("jumpseller/accounts/oauth/revoke", oauth.revoke),
    path("jumpseller/api/v1/", include(api_patterns)),
    path("jumpseller/stores", control.stores),
    path("jumpseller/deliver_retries", control.deliver_retries),
    *store_patterns,
    path("openfactura/", include("sandbox.openfactura.urls")),
]
