from tests.mail.inbox import inbox  # noqa: F401
