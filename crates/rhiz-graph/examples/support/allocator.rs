//! The examples allocate with mimalloc, as the `rhiz` binary does, so their
//! figures are those of the server's allocator.

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;
