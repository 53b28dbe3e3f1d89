"""Theoretical occupancy of a kernel, the way the CUDA occupancy calculator works it out.

Per-architecture limits (CUDA C Programming Guide, "Technical Specifications per Compute
Capability", and the device properties the runtime reports for these parts):

======  ==========  ========  =========  ==========  =============  ==============  ========  =====
arch    threads/SM  warps/SM  blocks/SM  regs/SM     smem/SM (B)    smem/block opt  reserved  smem
                                         (and /blk)                 -in max (B)     /block    unit
======  ==========  ========  =========  ==========  =============  ==============  ========  =====
sm_70   2048        64        32         65536       98304 (96K)    98304           0         256
sm_75   1024        32        16         65536       65536 (64K)    65536           0         256
sm_80   2048        64        32         65536       167936 (164K)  166912          1024      128
sm_86   1536        48        16         65536       102400 (100K)  101376          1024      128
sm_89   1536        48        24         65536       102400 (100K)  101376          1024      128
sm_90   2048        64        32         65536       233472 (228K)  232448          1024      128
======  ==========  ========  =========  ==========  =============  ==============  ========  =====

Common to all six: 32 threads per warp, at most 1024 threads and 65536 registers per block, at
most 255 registers per thread, registers allocated per warp in units of 256, and the register file
split over 4 sub-partitions (a warp's registers live in one of them). Without a per-block opt-in
a block may use 48 KiB of shared memory; dynamic shared memory above that needs
cudaFuncSetAttribute, which this calculation assumes is done when needed.

The calculation (the same four limits as the CUDA calculator):

* warps:      floor(max warps per SM / warps per block)
* blocks:     the per-SM block limit above
* registers:  per warp, ceil(regs x 32 / 256) x 256; warps that fit per sub-partition is
              floor((65536 / 4) / that); times 4, divided by warps per block
* shared:     (static + dynamic + reserved) rounded up to the smem unit; floor(smem per SM / that),
              assuming the default carveout (the whole shared capacity is available)

Active blocks per SM is the least of the four; occupancy is active warps / max warps per SM.
A block that exceeds a per-block limit (threads, registers or shared memory) cannot launch at
all: occupancy 0 and a `reason`.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["ARCHITECTURES", "ArchLimits", "Occupancy", "arch_limits", "occupancy"]

_WARP = 32
_REG_UNIT = 256
_SUB_PARTITIONS = 4
_MAX_REGS_PER_THREAD = 255
_DEFAULT_SMEM_PER_BLOCK = 48 * 1024


@dataclass(frozen=True, slots=True)
class ArchLimits:
    """The per-SM and per-block limits of one compute capability."""

    arch: str
    max_threads_per_sm: int
    max_blocks_per_sm: int
    regs_per_sm: int
    regs_per_block: int
    smem_per_sm: int
    smem_per_block_optin: int
    reserved_smem_per_block: int
    smem_unit: int
    max_threads_per_block: int = 1024

    @property
    def max_warps_per_sm(self) -> int:
        return self.max_threads_per_sm // _WARP


ARCHITECTURES: dict[str, ArchLimits] = {
    a.arch: a
    for a in (
        ArchLimits("sm_70", 2048, 32, 65536, 65536, 98304, 98304, 0, 256),
        ArchLimits("sm_75", 1024, 16, 65536, 65536, 65536, 65536, 0, 256),
        ArchLimits("sm_80", 2048, 32, 65536, 65536, 167936, 166912, 1024, 128),
        ArchLimits("sm_86", 1536, 16, 65536, 65536, 102400, 101376, 1024, 128),
        ArchLimits("sm_89", 1536, 24, 65536, 65536, 102400, 101376, 1024, 128),
        ArchLimits("sm_90", 2048, 32, 65536, 65536, 233472, 232448, 1024, 128),
    )
}


def arch_limits(arch: str) -> ArchLimits:
    """The limits for `arch` ("sm_80", "80", "8.0" or "compute_80" are all accepted)."""
    key = arch.strip().lower().replace("compute_", "sm_")
    if "." in key:
        major, _, minor = key.partition(".")
        key = f"sm_{major}{minor}"
    elif not key.startswith("sm_"):
        key = f"sm_{key}"
    key = key.rstrip("a")  # sm_90a has sm_90's limits
    try:
        return ARCHITECTURES[key]
    except KeyError:
        known = ", ".join(ARCHITECTURES)
        raise ValueError(f"no occupancy table for {arch!r}; known: {known}") from None


@dataclass(frozen=True, slots=True)
class Occupancy:
    """Theoretical occupancy of one kernel at one block size."""

    arch: str
    block_size: int
    active_blocks_per_sm: int
    active_warps_per_sm: int
    max_warps_per_sm: int
    limited_by: tuple[str, ...]
    registers_per_block: int
    shared_bytes_per_block: int
    reason: str = ""

    @property
    def fraction(self) -> float:
        return self.active_warps_per_sm / self.max_warps_per_sm

    def describe(self) -> str:
        if self.active_blocks_per_sm == 0:
            return f"cannot launch at {self.block_size} threads/block on {self.arch}: {self.reason}"
        return (
            f"occupancy {self.fraction:.0%} on {self.arch} at {self.block_size} threads/block "
            f"({self.active_blocks_per_sm} blocks, {self.active_warps_per_sm}/"
            f"{self.max_warps_per_sm} warps per SM; limited by {', '.join(self.limited_by)})"
        )


def _round_up(value: int, unit: int) -> int:
    return -(-value // unit) * unit


def occupancy(
    *,
    registers: int,
    shared_bytes: int,
    block_size: int,
    arch: str = "sm_80",
    dynamic_shared_bytes: int = 0,
) -> Occupancy:
    """Blocks and warps resident per SM for a kernel with these resources (see module doc)."""
    if block_size <= 0:
        raise ValueError(f"block_size must be positive, got {block_size}")
    if registers < 0 or shared_bytes < 0 or dynamic_shared_bytes < 0:
        raise ValueError("registers and shared memory sizes must not be negative")
    lim = arch_limits(arch)
    warps_per_block = -(-block_size // _WARP)
    regs_per_warp = _round_up(registers * _WARP, _REG_UNIT)
    regs_per_block = regs_per_warp * warps_per_block
    smem_used = shared_bytes + dynamic_shared_bytes
    smem_per_block = _round_up(smem_used + lim.reserved_smem_per_block, lim.smem_unit)

    def refused(reason: str) -> Occupancy:
        return Occupancy(
            lim.arch,
            block_size,
            0,
            0,
            lim.max_warps_per_sm,
            (),
            regs_per_block,
            smem_per_block,
            reason,
        )

    if block_size > lim.max_threads_per_block:
        return refused(f"{block_size} threads > {lim.max_threads_per_block} per block")
    if registers > _MAX_REGS_PER_THREAD:
        return refused(f"{registers} registers/thread > {_MAX_REGS_PER_THREAD}")
    # The hardware check assumes a block's warps spread over all sub-partitions.
    regs_checked = regs_per_warp * _round_up(warps_per_block, _SUB_PARTITIONS)
    if max(regs_checked, regs_per_block) > lim.regs_per_block:
        return refused(f"{regs_checked} registers per block > {lim.regs_per_block}")
    smem_cap = (
        lim.smem_per_block_optin
        if smem_used > _DEFAULT_SMEM_PER_BLOCK
        else (_DEFAULT_SMEM_PER_BLOCK)
    )
    if smem_used > smem_cap:
        return refused(f"{smem_used} B shared memory per block > {smem_cap} B")

    limits: dict[str, int] = {
        "warps": lim.max_warps_per_sm // warps_per_block,
        "blocks": lim.max_blocks_per_sm,
    }
    if regs_per_warp > 0:
        warps_per_part = (lim.regs_per_sm // _SUB_PARTITIONS) // regs_per_warp
        limits["registers"] = (warps_per_part * _SUB_PARTITIONS) // warps_per_block
    if smem_per_block > 0:
        limits["shared memory"] = lim.smem_per_sm // smem_per_block
    blocks = min(limits.values())
    if blocks == 0:
        return refused("a single block does not fit on one SM")
    limited_by = tuple(name for name, value in limits.items() if value == blocks)
    return Occupancy(
        arch=lim.arch,
        block_size=block_size,
        active_blocks_per_sm=blocks,
        active_warps_per_sm=blocks * warps_per_block,
        max_warps_per_sm=lim.max_warps_per_sm,
        limited_by=limited_by,
        registers_per_block=regs_per_block,
        shared_bytes_per_block=smem_per_block,
    )
