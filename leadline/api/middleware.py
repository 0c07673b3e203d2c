"""The browser's middleware, skipped for API requests that carry a bearer token.

A request to /api/ with `Authorization: Bearer …` is authenticated by its token alone (see
`TokenAuth`): it has no use for a session, flash messages or a CSRF cookie, and a browser never
sends such a header across sites on its own, so there is nothing for CSRF protection to do.
Loading the session and messages for it is a tenth of a capture request's CPU outside the
pipeline. Each class here is Django's own middleware that steps aside for such a request; every
other request (the web UI, the API with a session cookie, public endpoints) gets it unchanged.
The security, common (ALLOWED_HOSTS), static-file and clickjacking middleware run for all.
"""

from django.contrib.auth.middleware import AuthenticationMiddleware
from django.contrib.auth.models import AnonymousUser
from django.contrib.messages.middleware import MessageMiddleware
from django.contrib.sessions.middleware import SessionMiddleware
from django.middleware.csrf import CsrfViewMiddleware


def is_token_api_request(request) -> bool:
    scheme = request.META.get("HTTP_AUTHORIZATION", "").partition(" ")[0]
    return scheme.lower() == "bearer" and request.path_info.startswith("/api/")


class _BrowserOnly:
    def __call__(self, request):
        if is_token_api_request(request):
            return self.get_response(request)
        return super().__call__(request)


class BrowserSessionMiddleware(_BrowserOnly, SessionMiddleware):
    pass


class BrowserCsrfViewMiddleware(_BrowserOnly, CsrfViewMiddleware):
    def process_view(self, request, callback, callback_args, callback_kwargs):
        # Nothing to protect: a token request is never authenticated by its cookies (see
        # BrowserAuthenticationMiddleware), and the API's views are csrf_exempt anyway.
        if is_token_api_request(request):
            return None
        return super().process_view(request, callback, callback_args, callback_kwargs)


class BrowserAuthenticationMiddleware(_BrowserOnly, AuthenticationMiddleware):
    def __call__(self, request):
        if is_token_api_request(request):
            # Nobody until the token says who: a wrong token is a 401, never a session's user.
            request.user = AnonymousUser()
            return self.get_response(request)
        return super().__call__(request)


class BrowserMessageMiddleware(_BrowserOnly, MessageMiddleware):
    pass
