"""Who owns each backup group in ZStack: the one ownership model every resource follows.

ZStack cannot tell us whether a backup was already taken for a resource, and its CreateVmBackup drops the
request's ``userTags`` (``VolumeBackupManagerImpl.handle(APICreateVmBackupMsg)`` forwards only the system
tags, which must match a pattern ZStack registered). So ownership travels in the one field of the request
that ZStack keeps exactly: ``resourceUuid``, which becomes the group uuid.

- **Owned ids.** A group a resource makes gets an id whose first 16 hex digits name the owning stack (8) and
  the owning resource's URN (8), and whose rest is a hash of the URN and what the group is made for (the
  digest of its inputs and triggers, and a generation number). From the creating request on, a group is
  therefore findable by stack (``groupUuid~=<stack key>%``) and by resource, and a group under an id a
  create computes can only be an earlier attempt of that same resource, for those same inputs.
- **Owner tags.** Just before a create hands a group to the engine, its root volume backup gets one user
  tag, ``pulumi-zstack::owner::v1::<stack key>::<resource id>::<claim>::<digest>::<URN>``. It says the group
  is in a state (a create never resumes a tagged group) and who holds it: the claim, a random token that
  the resource keeps in its state as ``owner_claim``. Adopting a group writes the adopter's tag and removes
  the others, so ownership moves with it; a delete only deletes a group whose tag carries its own claim.
- **Legacy groups** (made before owner tags existed) carry no owner tag and an id of another shape; the
  state that holds one has no claim, and may delete it while no other resource has adopted it.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

OWNER_TAG_PREFIX = "pulumi-zstack::owner::v1::"
#: The inputs the Python SDK sends to name a resource's owner; the native plugin takes both from the URN.
OWNER_INPUTS = ("owner_stack", "owner_urn")
#: The mark groups made by the previous release got when handed to a stack; still read, never written.
LEGACY_RECORDED_TAG = "pulumi-zstack::recorded"

#: The organization of every stack of a self-managed backend; the native plugin records it for every stack,
#: since the engine tells a provider its stack and project (in the URN) but not its organization.
DEFAULT_ORGANIZATION = "organization"

_STACK_KEY_LENGTH = 8
_URN_KEY_LENGTH = 8


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def stack_key(stack: str) -> str:
    """The id prefix of every group owned by `stack` (``organization/project/stack``)."""
    return _sha256(stack)[:_STACK_KEY_LENGTH]


def stack_names(qualified: str) -> tuple[str, ...]:
    """The names objects of the stack `qualified` (``organization/project/stack``) may be owned under: its
    own (the dynamic provider's), and the one the native plugin records, under the default organization."""
    _organization, _, project_and_stack = qualified.partition("/")
    return tuple(dict.fromkeys([qualified, f"{DEFAULT_ORGANIZATION}/{project_and_stack}"]))


def digest(values: Mapping[str, Any]) -> str:
    """A short digest of the inputs and triggers a group is made for (numbers as the engine sends them)."""
    canonical = json.dumps(_integral(values), sort_keys=True, separators=(",", ":"), default=str)
    return _sha256(canonical)[:16]


def _integral(value: Any) -> Any:
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, (list, tuple)):
        return [_integral(v) for v in value]
    if isinstance(value, Mapping):
        return {k: _integral(v) for k, v in value.items() if v is not None}
    return value


@dataclass(frozen=True)
class Owner:
    """A resource as ZStack knows it: its stack (``organization/project/stack``) and its full URN."""

    stack: str
    urn: str

    @property
    def stack_key(self) -> str:
        return stack_key(self.stack)

    @property
    def prefix(self) -> str:
        """The first 16 hex digits of every id this resource makes."""
        return self.stack_key + _sha256(self.urn)[:_URN_KEY_LENGTH]

    @property
    def like_pattern(self) -> str:
        """A ZStack ``~=`` (LIKE) pattern matching every id `object_id` makes, and no other owner's."""
        p = self.prefix
        return f"{p[:12]}5{p[12:15]}_{p[15]}%"

    def object_id(self, *parts: object) -> str:
        """An id of this resource's, for what `parts` name; the same parts always give the same id.

        Shaped as a version-5 UUID without dashes, the form ZStack's ``resourceUuid`` must have.
        """
        tail = _sha256("\n".join([self.urn, *map(str, parts)]))
        variant = "89ab"[int(tail[3], 16) % 4]
        return f"{self.prefix[:12]}5{self.prefix[12:15]}{variant}{self.prefix[15]}{tail[:14]}"


def new_claim() -> str:
    return secrets.token_hex(8)


@dataclass(frozen=True)
class OwnerTag:
    """The user tag on a group's root volume backup that names the resource holding the group."""

    stack_key: str
    resource_id: str
    claim: str
    digest: str
    urn: str
    tag_uuid: str | None = None

    def render(self) -> str:
        return (
            f"{OWNER_TAG_PREFIX}{self.stack_key}::{self.resource_id}::{self.claim}::{self.digest}::{self.urn}"
        )

    @classmethod
    def parse(cls, tag: str, tag_uuid: str | None = None) -> OwnerTag | None:
        if not tag.startswith(OWNER_TAG_PREFIX):
            return None
        fields = tag[len(OWNER_TAG_PREFIX) :].split("::", 4)
        if len(fields) != 5:
            return None
        stack, resource_id, claim, inputs_digest, urn = fields
        return cls(stack, resource_id, claim, inputs_digest, urn, tag_uuid)


@dataclass(frozen=True)
class GroupTags:
    """The owner tags (and the legacy mark) found on one group's root volume backup."""

    owners: tuple[OwnerTag, ...] = ()
    legacy_recorded: bool = False

    @property
    def handed_out(self) -> bool:
        """Whether the group was ever handed to a stack: a create must not resume it."""
        return bool(self.owners) or self.legacy_recorded

    def held_by(self, claim: str | None) -> bool:
        """Whether the resource that keeps `claim` in its state (and references the group) may delete it.

        A group without owner tags is the referencing state's: a legacy group, made before owner tags. A
        tagged one only with exactly its own tag: a group another resource adopted since (another tag, or
        two while a takeover has not finished) is not its to delete.
        """
        if not self.owners:
            return True
        return claim is not None and {o.claim for o in self.owners} == {claim}


def tags_of(inventories: Iterable[Mapping[str, Any]]) -> dict[str, GroupTags]:
    """Tags by resource uuid, from QueryUserTag inventories."""
    owners: dict[str, list[OwnerTag]] = {}
    legacy: set[str] = set()
    for inventory in inventories:
        resource, tag = inventory.get("resourceUuid"), inventory.get("tag")
        if not isinstance(resource, str) or not isinstance(tag, str):
            continue
        if tag == LEGACY_RECORDED_TAG:
            legacy.add(resource)
        elif (parsed := OwnerTag.parse(tag, inventory.get("uuid"))) is not None:
            owners.setdefault(resource, []).append(parsed)
    return {
        resource: GroupTags(tuple(owners.get(resource, ())), resource in legacy)
        for resource in set(owners) | legacy
    }


def first_free(candidates: Iterable[str], taken: Sequence[str] | set[str]) -> str:
    """The first candidate id not in `taken` (the candidates never run out: they are a hash line)."""
    held = set(taken)
    return next(c for c in candidates if c not in held)


class HandedOut:
    """Ids this provider process handed to the engine from a create or an update.

    The engine may delete, in the same run, the resource a create replaced: when that create kept the same
    group (an adopted group under ``--replace``), the delete must leave it alone.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._ids: set[str] = set()

    def add(self, *ids: str) -> None:
        with self._lock:
            self._ids.update(ids)

    def __contains__(self, resource_id: object) -> bool:
        with self._lock:
            return resource_id in self._ids


handed_out = HandedOut()
