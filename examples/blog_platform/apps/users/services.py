"""Users app services: registration, authentication and profiles.

``UserService`` is a :class:`~specter_spoc.Service`, so the runtime creates
and starts it and provides it in the registry; the blog app finds it with
``registry.require(UserService)``. It announces new accounts on the bus
(``USER_REGISTERED``), where the e-mail worker picks them up.

Password hashing is CPU work (scrypt), so it runs in a worker process owned
by this service (``offload_pool(self)``); the hub keeps serving meanwhile.
Logging in costs one hash check whether or not the username exists (an
unknown name is checked against a dummy hash), so the answer time does not
tell an attacker which usernames are registered.
"""
from __future__ import annotations

import logging
from typing import Any, Dict, List, Mapping, Optional

from flask import current_app
from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError

from framework.database import transaction
from framework.events import USER_REGISTERED
from framework.passwords import hash_password, verify_password
from specter_spoc import HTTPError, Service, registry
from specter_spoc.lifecycle.offload import offload_pool
from specter_spoc.project import service

from .models import EMPTY_PROFILE, User, UserProfile

logger = logging.getLogger("blog_platform.users")

#: profile fields a user may change
PROFILE_FIELDS = ("bio", "avatar_url", "website")
#: checked against when the username is unknown (never matches: see _dummy_hash)
_DUMMY_PASSWORD = "no account has this password"


@service
class UserService(Service):
    """Business logic for accounts.

    Example::

        users = registry.require(UserService)      # found by class
        alice = users.register("alice", "alice@example.com", "correct horse", "Alice")
        users.authenticate("alice", "correct horse")["id"] == alice["id"]
    """

    #: password-hashing worker processes (started on first use); PASSWORD_HASH_WORKERS overrides
    hash_workers = 1

    def on_start(self) -> None:
        self._dummy: Dict[int, str] = {}
        self.hash_workers = int(current_app.config.get("PASSWORD_HASH_WORKERS") or self.hash_workers)

    # ------------------------------------------------------------ passwords
    @staticmethod
    def _cost() -> int:
        return int(current_app.config.get("PASSWORD_SCRYPT_N") or 2 ** 14)

    def _hash(self, password: str) -> str:
        return offload_pool(self, size=self.hash_workers).run(hash_password, password, self._cost())

    def _dummy_hash(self) -> str:
        """A hash at the current cost that no login matches; an unknown
        username is verified against it so both failures cost one scrypt.
        Made by the first login attempt, whoever it names, so that one extra
        hash tells nothing either."""
        cost = self._cost()
        if cost not in self._dummy:
            self._dummy[cost] = self._hash(_DUMMY_PASSWORD)
        return self._dummy[cost]

    def _verify(self, password: str, stored: str) -> bool:
        return bool(offload_pool(self, size=self.hash_workers).run(verify_password, password, stored))

    # -------------------------------------------------------------- accounts
    def register(self, username: str, email: str, password: str, full_name: str = "") -> Dict[str, Any]:
        """Create an account; 409 when the username or e-mail is taken.
        Returns the user's private dict and emits ``"user:registered"``."""
        username, email = username.strip().lower(), email.strip().lower()
        self._check_free(username, email)
        password_hash = self._hash(password)  # off the hub, outside any transaction
        try:
            with transaction() as session:
                self._check_free(username, email)  # again: another request may have won meanwhile
                user = User(username=username, email=email, full_name=full_name.strip(),
                            password_hash=password_hash)
                session.add(user)
                session.flush()
                data = user.private()
        except IntegrityError:  # another process won the race (several workers on one database)
            raise HTTPError(f"the username {username!r} or e-mail {email!r} is already taken.", 409) from None
        logger.info("registered user %s (id %d)", username, data["id"])
        self.emit(USER_REGISTERED, data)
        return data

    def _check_free(self, username: str, email: str) -> None:
        with transaction() as session:
            taken = session.execute(
                select(User.username, User.email).where(or_(User.username == username, User.email == email))
            ).first()
        if taken is not None:
            if taken.username == username:
                raise HTTPError(f"the username {username!r} is already taken; choose another one.", 409,
                                payload={"errors": {"username": "already taken; choose another one"}})
            raise HTTPError(f"an account with the e-mail {email!r} already exists; log in instead.", 409,
                            payload={"errors": {"email": "an account with this e-mail already exists"}})

    def authenticate(self, username: str, password: str) -> Optional[Dict[str, Any]]:
        """The user's private dict when the password matches an active account,
        else None. Costs one hash check either way (see the module docstring)."""
        dummy = self._dummy_hash()
        with transaction() as session:
            user = session.scalar(select(User).where(User.username == username.strip().lower()))
            found = (user.private(), user.password_hash) if user is not None and user.is_active else None
        stored = found[1] if found is not None else dummy
        matches = self._verify(password, stored)
        return found[0] if found is not None and matches else None

    def get_user(self, user_id: int, *, private: bool = False) -> Optional[Dict[str, Any]]:
        """The user as a dict (with e-mail when ``private``), or None."""
        with transaction() as session:
            user = session.get(User, user_id)
            if user is None:
                return None
            return user.private() if private else user.public()

    def require_user(self, user_id: int, *, private: bool = False) -> Dict[str, Any]:
        """Like :meth:`get_user`, but 404 when there is no such user."""
        user = self.get_user(user_id, private=private)
        if user is None:
            raise HTTPError(f"user {user_id} does not exist.", 404)
        return user

    def list_users(self) -> List[Dict[str, Any]]:
        with transaction() as session:
            return [u.public() for u in session.scalars(select(User).order_by(User.id))]

    # -------------------------------------------------------------- profiles
    def get_profile(self, user_id: int) -> Dict[str, Any]:
        """``{"user": ..., "profile": ...}``; 404 for an unknown user."""
        with transaction() as session:
            user = session.get(User, user_id)
            if user is None:
                raise HTTPError(f"user {user_id} does not exist.", 404)
            profile = user.profile.to_dict() if user.profile is not None else dict(EMPTY_PROFILE)
            return {"user": user.public(), "profile": profile}

    def update_profile(self, user_id: int, changes: Mapping[str, str]) -> Dict[str, Any]:
        """Set the given profile fields (others unchanged); 404 for an unknown user."""
        unknown = set(changes) - set(PROFILE_FIELDS)
        if unknown:
            raise HTTPError(f"unknown profile field(s) {sorted(unknown)}; allowed: {list(PROFILE_FIELDS)}.", 400)
        with transaction() as session:
            user = session.get(User, user_id)
            if user is None:
                raise HTTPError(f"user {user_id} does not exist.", 404)
            if user.profile is None:
                user.profile = UserProfile(user_id=user_id)
            for key, value in changes.items():
                setattr(user.profile, key, value.strip())
            session.flush()
            return {"user": user.public(), "profile": user.profile.to_dict()}
