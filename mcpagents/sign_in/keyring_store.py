"""Sign-ins kept in the OS keyring (macOS Keychain, Windows Credential Locker, Secret Service or
KWallet): one entry per server, under the service `mcpagents` and the server's URL, holding the
sign-in as JSON. The keyring guards them with the user's login, and no token sits in a file.

The `keyring` package is optional (`pip install 'mcpagents[keyring]'`) and imported only here. Its
backend is taken as keyring is configured (`PYTHON_KEYRING_BACKEND`, its config file, else the best
it detects); `os_keyring` accepts only a real OS keyring, while an explicit
`MCPAGENTS_SIGN_IN_STORE=keyring` takes any backend that can keep a secret at all.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

from mcpagents.errors import ConfigError
from mcpagents.sign_in.token_store import STORE_VARIABLE, SignIn, read_sign_in, server_key

if TYPE_CHECKING:
    from keyring.backend import KeyringBackend

SERVICE = "mcpagents"
"""The service every sign-in is kept under; the user name is the server's URL (`server_key`)."""

_Result = TypeVar("_Result")


class KeyringStore:
    """The sign-ins of this user in the keyring `backend` (default: keyring's own, see
    `keyring_backend`)."""

    def __init__(self, backend: KeyringBackend | None = None) -> None:
        self.backend = backend if backend is not None else keyring_backend()

    def load(self, server: str) -> SignIn | None:
        key = server_key(server)
        text = self._call("read", server, lambda: self.backend.get_password(SERVICE, key))
        return None if text is None else read_sign_in(text, server, self.where(server))

    def save(self, sign_in: SignIn) -> None:
        key, text = server_key(sign_in.server), sign_in.to_json()
        self._call("keep", sign_in.server, lambda: self.backend.set_password(SERVICE, key, text))

    def forget(self, server: str) -> bool:
        """Drop the sign-in to `server`; whether there was one."""
        key = server_key(server)
        if self._call("read", server, lambda: self.backend.get_password(SERVICE, key)) is None:
            return False
        self._call("forget", server, lambda: self.backend.delete_password(SERVICE, key))
        return True

    def where(self, server: str) -> str:
        return f"the system keyring ({_name(self.backend)})"

    def _call(self, verb: str, server: str, operation: Callable[[], _Result]) -> _Result:
        try:
            return operation()
        # Backends raise their platform's own errors (D-Bus, Keychain, Win32), not only KeyringError.
        except Exception as error:
            raise ConfigError(
                f"{self.where(server)} could not {verb} the sign-in to {server}"
                f" ({type(error).__name__}: {error}); unlock the keyring or start its service, or keep"
                f" sign-ins in files instead with {STORE_VARIABLE}=file"
            ) from error


def keyring_backend() -> KeyringBackend:
    """keyring's backend, when keyring is installed and its backend can keep a secret; else a
    ConfigError saying what to install or configure."""
    try:
        import keyring
        from keyring.backends.chainer import ChainerBackend
    except ImportError:
        raise ConfigError(
            "keeping sign-ins in the OS keyring needs the keyring package: pip install"
            f" 'mcpagents[keyring]'; or set {STORE_VARIABLE}=file"
        ) from None
    try:
        backend = keyring.get_keyring()
        backend.priority  # noqa: B018 (raises when the backend cannot work here)
    # A backend named in keyring's configuration raises whatever stops it loading.
    except Exception as error:
        raise ConfigError(
            f"keyring could not load its backend ({type(error).__name__}: {error}): fix"
            f" PYTHON_KEYRING_BACKEND or keyring's config file, or set {STORE_VARIABLE}=file"
        ) from error
    keeps_nothing = (
        not backend.backends
        if isinstance(backend, ChainerBackend)
        else type(backend).__module__ in ("keyring.backends.fail", "keyring.backends.null")
    )
    if keeps_nothing:
        raise ConfigError(
            f"keyring finds no keyring here to keep sign-ins in (its backend: {backend}): run one (on"
            " Linux a Secret Service such as GNOME Keyring or KeePassXC, or KWallet) or name one with"
            f" PYTHON_KEYRING_BACKEND; or set {STORE_VARIABLE}=file"
        )
    return backend


def os_keyring() -> KeyringBackend | None:
    """keyring's backend when it is a real OS keyring; None when keyring is not installed, keeps
    nothing, or keeps secrets in a plain file (keyrings.alt's stand-ins: no better than our files)."""
    try:
        backend = keyring_backend()
    except ConfigError:
        return None
    return backend if secure(backend) else None


def secure(backend: KeyringBackend) -> bool:
    """Whether `backend` is an OS keyring: ranked 1 or more by keyring (its advice for a backend fit
    for secrets) and not one of keyrings.alt's. A chainer writes to its first backend: that one."""
    from keyring.backends.chainer import ChainerBackend

    if isinstance(backend, ChainerBackend):
        return bool(backend.backends) and secure(backend.backends[0])
    return backend.priority >= 1 and not type(backend).__module__.startswith("keyrings.alt")


def _name(backend: KeyringBackend) -> str:
    """The backend's display name (`macOS Keyring`, `SecretService Keyring`); a chainer's first."""
    from keyring.backends.chainer import ChainerBackend

    if isinstance(backend, ChainerBackend) and backend.backends:
        return _name(backend.backends[0])
    return str(type(backend).name)
