"""Timings and switches of a simulator; changeable at run time (Python or the admin API)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

REAL_SESSION_TIMEOUT = 7200.0
REAL_JOB_RECORD_TTL = 10800.0
#: ZStack's global config volumeBackup/incrementalBackup.maxNum may be 1 to 64 (VolumeBackupGlobalConfig);
#: ZStack's web console falls back to 64 when it cannot read the value.
DEFAULT_MAX_INCREMENTAL_BACKUP = 64


class Settings(BaseModel):
    """A job finishes at poll number `job_polls` or `job_seconds` after submission, whichever comes first
    (both unset: at the first poll)."""

    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, extra="forbid", validate_assignment=True
    )

    job_polls: int | None = Field(default=None, ge=0)
    job_seconds: float | None = Field(default=3.0, ge=0.0)
    session_timeout: float = Field(default=REAL_SESSION_TIMEOUT, gt=0.0)
    job_record_ttl: float = Field(default=REAL_JOB_RECORD_TTL, gt=0.0)
    max_sessions: int = Field(default=500, ge=1)
    e_notation: bool = False
    internal_host: str = "192.0.2.10"
    """Host written into job `location` URLs: TEST-NET-1, never reachable, so a client must rewrite it."""
    location_port: int = 8080
    version: str = "4.8.0"
    shuffle_seed: int | None = None
    """Seed of the RNG that orders CreateVmBackup results; None means unpredictable."""
    max_incremental_backup: int = Field(default=DEFAULT_MAX_INCREMENTAL_BACKUP, ge=1, le=64)
    """The longest chain (base image included) an auto backup extends; at that length it takes a full one."""

    @classmethod
    def fast(cls) -> Settings:
        """Test profile: a job answers on its second poll, or 0.2 s after submission."""
        return cls(job_polls=2, job_seconds=0.2)
