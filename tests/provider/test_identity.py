"""Which id a create uses, and who may delete a group: the ownership model without ZStack.

Every id a resource makes starts with its stack's key and its URN's key, so ZStack can be asked for every
group of a stack or of a resource; the rest is a hash of what the group is made for. A create resumes only an
untagged group of its own line and never a tagged one, however many there are.
"""

from __future__ import annotations

import re

import pytest
from pulumi_zstack_provider._backup_group import OwnedGroups, WireVolumeBackup, candidates
from pulumi_zstack_provider._ownership import GroupTags, Owner, OwnerTag, digest, stack_key, tags_of

pytestmark = pytest.mark.unit

STACK = "organization/backups/prod"
URN = "urn:pulumi:prod::backups::pulumi-python:dynamic/zstack:VmBackup::nightly"
# ZStack refuses any other resourceUuid [core ApiMediatorImpl.intercept].
ZSTACK_UUID = re.compile(r"[0-9a-f]{8}[0-9a-f]{4}[1-5][0-9a-f]{3}[89ab][0-9a-f]{3}[0-9a-f]{12}")


def like(pattern: str, value: str) -> bool:
    """ZStack's `~=`: `%` any run, `_` one character."""
    regex = "".join(".*" if c == "%" else "." if c == "_" else re.escape(c) for c in pattern)
    return re.fullmatch(regex, value) is not None


def test_owned_ids_are_zstack_uuids_that_name_their_stack_and_resource() -> None:
    owner = Owner(STACK, URN)
    ids = {owner.object_id("VmBackup", digest({"name": "n"}), g) for g in range(200)}
    assert len(ids) == 200
    for found in ids:
        assert ZSTACK_UUID.fullmatch(found)
        assert found.startswith(stack_key(STACK))
        assert like(owner.like_pattern, found)
        assert like(f"{stack_key(STACK)}%", found)


def test_type_parent_chain_and_stack_each_make_other_ids() -> None:
    owners = [
        Owner(STACK, URN),
        Owner(STACK, URN.replace(":VmBackup::", ":VmBackupSeries::")),
        Owner(STACK, URN.replace("pulumi-python:", "my:app:Fleet$pulumi-python:")),
        Owner("organization/backups/staging", URN),
    ]
    made = [o.object_id("VmBackup", "d", 0) for o in owners]
    assert len(set(made)) == len(made)
    for owner in owners:
        others = [m for m in made if m != owner.object_id("VmBackup", "d", 0)]
        assert not any(like(owner.like_pattern, m) for m in others)


def _member(group: str, uuid: str, status: str = "Ready") -> WireVolumeBackup:
    return WireVolumeBackup.model_validate(
        {"uuid": uuid, "groupUuid": group, "type": "Root", "status": status, "volumeUuid": "v" * 32}
    )


def _owned(groups: dict[str, str], tagged: set[str]) -> OwnedGroups:
    members = {g: [_member(g, root)] for g, root in groups.items()}
    tag = OwnerTag("s" * 8, "r", "claim", "d", URN)
    return OwnedGroups(members, {groups[g]: GroupTags((tag,)) for g in tagged})


def test_a_create_resumes_its_untagged_attempt_and_never_a_tagged_group() -> None:
    owner = Owner(STACK, URN)
    line = candidates(lambda g: owner.object_id("VmBackup", "d", g), 3)
    # A first create: nothing there.
    assert _owned({}, set()).choose(line) == line[0]
    # The first generation is in a state (tagged): a forced replacement takes the next.
    assert _owned({line[0]: "a" * 32}, {line[0]}).choose(line) == line[1]
    # An interrupted attempt of the second generation is resumed rather than a free id taken.
    held = _owned({line[0]: "a" * 32, line[2]: "c" * 32}, {line[0]})
    assert held.choose(line) == line[2]


def test_forced_replacements_are_not_bounded() -> None:
    owner = Owner(STACK, URN)
    kept: dict[str, str] = {}
    for n in range(40):  # retain_on_delete keeps every generation, each tagged
        line = candidates(lambda g: owner.object_id("VmBackup", "d", g), len(kept))
        chosen = _owned(kept, set(kept)).choose(line)
        assert chosen not in kept
        kept[chosen] = f"{n:032x}"
    assert len(kept) == 40


def test_a_group_with_deleted_members_is_never_reused() -> None:
    owner = Owner(STACK, URN)
    line = candidates(lambda g: owner.object_id("VmBackup", "d", g), 1)
    soft_deleted = OwnedGroups({line[0]: [_member(line[0], "a" * 32, status="Deleted")]}, {})
    assert soft_deleted.choose(line) == line[1]


def test_owner_tags_round_trip_and_ownership_checks() -> None:
    tag = OwnerTag(stack_key(STACK), "g" * 32, "c1", "d1", URN)
    parsed = OwnerTag.parse(tag.render(), "t" * 32)
    assert parsed == OwnerTag(stack_key(STACK), "g" * 32, "c1", "d1", URN, "t" * 32)
    assert OwnerTag.parse("pulumi-zstack::recorded") is None
    tags = tags_of(
        [
            {"resourceUuid": "r1", "tag": tag.render(), "uuid": "t1"},
            {"resourceUuid": "r2", "tag": "pulumi-zstack::recorded", "uuid": "t2"},
            {"resourceUuid": "r3", "tag": "backup-team", "uuid": "t3"},
        ]
    )
    assert tags["r1"].held_by("c1")
    assert not tags["r1"].held_by("c2")
    assert not tags["r1"].held_by(None)
    assert tags["r2"].handed_out
    assert tags["r2"].held_by(None)
    assert tags["r2"].held_by("c1")
    assert "r3" not in tags
    # During a takeover both tags are there: neither resource may delete the group.
    both = GroupTags((tag, OwnerTag(stack_key(STACK), "g" * 32, "c2", "d1", URN)))
    assert not both.held_by("c1")
    assert not both.held_by("c2")


def test_the_digest_follows_values_not_float_noise() -> None:
    assert digest({"triggers": [1.0, "a"], "mode": None}) == digest({"triggers": [1, "a"]})
    assert digest({"triggers": ["1.0"]}) != digest({"triggers": ["1.1"]})


def test_an_owner_tag_written_twice_still_lets_its_holder_delete() -> None:
    # A lost answer to the tag job can leave the same tag twice: still one owner, the same claim.
    tag = OwnerTag(stack_key(STACK), "g" * 32, "c1", "d1", URN, "t1")
    twice = GroupTags((tag, OwnerTag(stack_key(STACK), "g" * 32, "c1", "d1", URN, "t2")))
    assert twice.held_by("c1")
    assert not twice.held_by("c2")
