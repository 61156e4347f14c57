//! Password hashing: argon2id for every new hash; bcrypt hashes imported from other
//! systems verify and are then upgraded.
//!
//! Hashing runs on a small pool of dedicated threads (one per core), each reusing one
//! argon2 memory block while jobs are queued and unmapping it when none is. That bounds
//! memory at cores × m (19 MiB each by default) however many logins arrive at once, saves
//! the page faults of a fresh allocation during a burst, and holds nothing between logins:
//! the block is mapped from the OS, not the allocator, which kept each freed block resident
//! (measured: 39 MiB held after one sign-up and one login). Hashes are standard PHC strings
//! (`$argon2id$v=19$m=…,t=…,p=…$salt$hash`), interoperable with every argon2 library.

use std::sync::mpsc;
use std::sync::{Arc, Mutex};

use crate::settings::PasswordHashConfig;
use argon2::{Algorithm, Argon2, Block, Params, Version};
use base64::Engine;
use base64::engine::general_purpose::STANDARD_NO_PAD as B64;
use kernel::{Error, Result};
use rand::RngCore;
use tokio::sync::oneshot;

const SALT_LEN: usize = 16;
const OUTPUT_LEN: usize = 32;

#[derive(Debug, PartialEq, Eq)]
pub enum Verdict {
    Valid { needs_rehash: bool },
    Invalid,
}

type Job = Box<dyn FnOnce(&mut Memory) + Send>;

#[derive(Clone)]
pub struct PasswordHasher {
    params: Params,
    jobs: mpsc::Sender<Job>,
    /// A real hash of a random password, verified when the account does not exist so that
    /// response time does not reveal which emails are registered. Made on first need, on a
    /// hashing thread, so that start-up neither waits for it nor allocates its memory.
    dummy: Arc<tokio::sync::OnceCell<String>>,
}

impl PasswordHasher {
    pub fn new(config: &PasswordHashConfig) -> Self {
        let params =
            Params::new(config.memory_kib, config.iterations, config.parallelism, Some(OUTPUT_LEN)).unwrap_or_default();
        let threads = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2);
        let (jobs, receiver) = mpsc::channel::<Job>();
        let receiver = Arc::new(Mutex::new(receiver));
        for i in 0..threads {
            let receiver = receiver.clone();
            let spawned = std::thread::Builder::new().name(format!("socle-hash-{i}")).spawn(move || {
                let mut memory = Memory::default();
                loop {
                    // The block is kept only for a job that is already queued: a thread
                    // waiting for jobs (or for the other thread, which waits holding the
                    // receiver) holds none.
                    let rx = match receiver.try_lock() {
                        Ok(rx) => rx,
                        Err(std::sync::TryLockError::WouldBlock) => {
                            memory = Memory::default();
                            match receiver.lock() {
                                Ok(rx) => rx,
                                Err(_) => return,
                            }
                        }
                        Err(std::sync::TryLockError::Poisoned(_)) => return,
                    };
                    let job = match rx.try_recv() {
                        Ok(job) => Ok(job),
                        Err(mpsc::TryRecvError::Disconnected) => return,
                        Err(mpsc::TryRecvError::Empty) => {
                            memory = Memory::default();
                            rx.recv()
                        }
                    };
                    drop(rx);
                    match job {
                        Ok(job) => job(&mut memory),
                        Err(_) => return, // every sender is gone
                    }
                }
            });
            if let Err(e) = spawned {
                tracing::error!(error = %e, "could not start a password-hashing thread");
            }
        }
        Self { params, jobs, dummy: Arc::new(tokio::sync::OnceCell::new()) }
    }

    async fn run<T: Send + 'static>(&self, work: impl FnOnce(&mut Memory) -> T + Send + 'static) -> Result<T> {
        let (tx, rx) = oneshot::channel();
        let job: Job = Box::new(move |memory| {
            let _ = tx.send(work(memory));
        });
        self.jobs.send(job).map_err(|_| Error::internal("the password-hashing threads are gone"))?;
        rx.await.map_err(|_| Error::internal("a password-hashing job was dropped"))
    }

    pub async fn hash(&self, password: &str) -> Result<String> {
        let params = self.params.clone();
        let password = password.to_string();
        self.run(move |memory| hash_with(&params, password.as_bytes(), memory)).await?
    }

    /// Check `password` against a stored PHC argon2 hash or a bcrypt (`$2a$`/`$2b$`/`$2y$`) hash.
    pub async fn verify(&self, password: &str, stored: &str) -> Result<Verdict> {
        let expected = self.params.clone();
        let password = password.to_string();
        let stored = stored.to_string();
        self.run(move |memory| verify_with(&expected, password.as_bytes(), &stored, memory)).await
    }

    /// Spend the same time as a real verification, for unknown accounts.
    pub async fn verify_dummy(&self, password: &str) {
        let dummy = self
            .dummy
            .get_or_try_init(|| async {
                let random = kernel::ids::random_token(16);
                self.hash(&random).await
            })
            .await;
        if let Ok(dummy) = dummy {
            let _ = self.verify(password, dummy).await;
        }
    }
}

/// An argon2 memory block mapped straight from the OS and unmapped on drop, so that a
/// finished hash leaves nothing resident.
#[derive(Default)]
struct Memory {
    #[cfg(unix)]
    mapped: Option<(std::ptr::NonNull<Block>, usize)>,
    #[cfg(not(unix))]
    blocks: Vec<Block>,
}

// SAFETY: the mapping is owned by this value alone (no other pointer to it exists).
unsafe impl Send for Memory {}

impl Memory {
    /// `count` zeroed blocks, reusing the current mapping when it has that size.
    #[cfg(unix)]
    fn blocks(&mut self, count: usize) -> Result<&mut [Block]> {
        if self.mapped.is_none_or(|(_, n)| n != count) {
            *self = Memory::default();
            let len = count
                .checked_mul(std::mem::size_of::<Block>())
                .ok_or_else(|| Error::internal("argon2 memory size overflows"))?;
            // SAFETY: an anonymous private mapping; no existing memory is touched.
            let ptr = unsafe {
                libc::mmap(
                    std::ptr::null_mut(),
                    len,
                    libc::PROT_READ | libc::PROT_WRITE,
                    libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                    -1,
                    0,
                )
            };
            if ptr == libc::MAP_FAILED {
                return Err(Error::internal(format!("could not map {len} bytes for argon2")));
            }
            let ptr = std::ptr::NonNull::new(ptr.cast::<Block>())
                .ok_or_else(|| Error::internal("mmap returned a null pointer"))?;
            self.mapped = Some((ptr, count));
        }
        let (ptr, count) = self.mapped.ok_or_else(|| Error::internal("argon2 memory is not mapped"))?;
        // SAFETY: the mapping holds `count` blocks, is page-aligned (a Block needs 64 bytes),
        // starts zeroed (all-zero words are a valid Block) and is borrowed through `&mut self`.
        Ok(unsafe { std::slice::from_raw_parts_mut(ptr.as_ptr(), count) })
    }

    #[cfg(not(unix))]
    fn blocks(&mut self, count: usize) -> Result<&mut [Block]> {
        if self.blocks.len() != count {
            self.blocks = vec![Block::default(); count];
        }
        Ok(self.blocks.as_mut_slice())
    }
}

#[cfg(unix)]
impl Drop for Memory {
    fn drop(&mut self) {
        if let Some((ptr, count)) = self.mapped.take() {
            // SAFETY: unmaps exactly the mapping made in `blocks`, which nothing borrows now.
            unsafe { libc::munmap(ptr.as_ptr().cast(), count * std::mem::size_of::<Block>()) };
        }
    }
}

fn hash_with(params: &Params, password: &[u8], memory: &mut Memory) -> Result<String> {
    let mut salt = [0u8; SALT_LEN];
    rand::rng().fill_bytes(&mut salt);
    let mut out = [0u8; OUTPUT_LEN];
    let blocks = memory.blocks(params.block_count())?;
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone())
        .hash_password_into_with_memory(password, &salt, &mut out, blocks)
        .map_err(Error::internal)?;
    Ok(format!(
        "$argon2id$v=19$m={},t={},p={}${}${}",
        params.m_cost(),
        params.t_cost(),
        params.p_cost(),
        B64.encode(salt),
        B64.encode(out)
    ))
}

/// A parsed `$argon2{id,i,d}$v=..$m=..,t=..,p=..$salt$hash` string.
struct Phc {
    algorithm: Algorithm,
    version: Version,
    m: u32,
    t: u32,
    p: u32,
    salt: Vec<u8>,
    hash: Vec<u8>,
}

fn parse_phc(s: &str) -> Option<Phc> {
    let mut parts = s.split('$');
    if !parts.next()?.is_empty() {
        return None;
    }
    let algorithm = match parts.next()? {
        "argon2id" => Algorithm::Argon2id,
        "argon2i" => Algorithm::Argon2i,
        "argon2d" => Algorithm::Argon2d,
        _ => return None,
    };
    let mut field = parts.next()?;
    let version = if let Some(v) = field.strip_prefix("v=") {
        field = parts.next()?;
        match v {
            "19" => Version::V0x13,
            "16" => Version::V0x10,
            _ => return None,
        }
    } else {
        Version::V0x10
    };
    let (mut m, mut t, mut p) = (None, None, None);
    for kv in field.split(',') {
        let (k, v) = kv.split_once('=')?;
        let v: u32 = v.parse().ok()?;
        match k {
            "m" => m = Some(v),
            "t" => t = Some(v),
            "p" => p = Some(v),
            _ => {} // keyid/data: not used by Socle, harmless to ignore
        }
    }
    let salt = B64.decode(parts.next()?.trim_end_matches('=')).ok()?;
    let hash = B64.decode(parts.next()?.trim_end_matches('=')).ok()?;
    if parts.next().is_some() || hash.is_empty() {
        return None;
    }
    Some(Phc { algorithm, version, m: m?, t: t?, p: p?, salt, hash })
}

fn verify_with(expected: &Params, password: &[u8], stored: &str, memory: &mut Memory) -> Verdict {
    if stored.starts_with("$2a$") || stored.starts_with("$2b$") || stored.starts_with("$2y$") {
        return match bcrypt::verify(password, stored) {
            Ok(true) => Verdict::Valid { needs_rehash: true },
            _ => Verdict::Invalid,
        };
    }
    let Some(phc) = parse_phc(stored) else { return Verdict::Invalid };
    // Refuse absurd parameters from a tampered hash instead of allocating gigabytes.
    if phc.m > 4 * 1024 * 1024 || phc.t > 100 || phc.p > 64 || phc.hash.len() > 128 {
        return Verdict::Invalid;
    }
    let Ok(params) = Params::new(phc.m, phc.t, phc.p, Some(phc.hash.len())) else { return Verdict::Invalid };
    let mut out = vec![0u8; phc.hash.len()];
    let Ok(blocks) = memory.blocks(params.block_count()) else { return Verdict::Invalid };
    let computed = Argon2::new(phc.algorithm, phc.version, params.clone())
        .hash_password_into_with_memory(password, &phc.salt, &mut out, blocks);
    if computed.is_err() || !kernel::ids::constant_time_eq(&out, &phc.hash) {
        return Verdict::Invalid;
    }
    let current = phc.algorithm == Algorithm::Argon2id
        && phc.version == Version::V0x13
        && (params.m_cost(), params.t_cost(), params.p_cost())
            == (expected.m_cost(), expected.t_cost(), expected.p_cost())
        && phc.hash.len() == OUTPUT_LEN;
    Verdict::Valid { needs_rehash: !current }
}

#[cfg(test)]
mod tests {
    use super::*;
    use argon2::password_hash::{PasswordHasher as _, PasswordVerifier as _};

    fn fast() -> PasswordHasher {
        PasswordHasher::new(&PasswordHashConfig { memory_kib: 1024, iterations: 1, parallelism: 1 })
    }

    #[tokio::test]
    async fn argon2_round_trip() {
        let hasher = fast();
        let hash = hasher.hash("Correct-Horse-9").await.expect("hash");
        assert!(hash.starts_with("$argon2id$v=19$m=1024,t=1,p=1$"));
        assert_eq!(
            hasher.verify("Correct-Horse-9", &hash).await.expect("verify"),
            Verdict::Valid { needs_rehash: false }
        );
        assert_eq!(hasher.verify("wrong", &hash).await.expect("verify"), Verdict::Invalid);
    }

    #[tokio::test]
    async fn interoperates_with_the_reference_phc_implementation() {
        let hasher = fast();
        // Ours verifies with the argon2 crate's PHC verifier...
        let ours = hasher.hash("Shared-Secret-1").await.expect("hash");
        assert!(Argon2::default().verify_password(b"Shared-Secret-1", ours.as_str()).is_ok());
        assert!(Argon2::default().verify_password(b"other", ours.as_str()).is_err());
        // ...and theirs (default parameters, another salt length) verifies with ours.
        let theirs = Argon2::default().hash_password(b"Shared-Secret-1").expect("reference hash").to_string();
        assert!(matches!(hasher.verify("Shared-Secret-1", &theirs).await.expect("verify"), Verdict::Valid { .. }));
        assert_eq!(hasher.verify("nope", &theirs).await.expect("verify"), Verdict::Invalid);
    }

    #[tokio::test]
    async fn bcrypt_is_accepted_and_flagged_for_upgrade() {
        let hasher = fast();
        let hash = bcrypt::hash("Imported-Pass-1", 4).expect("bcrypt");
        assert_eq!(
            hasher.verify("Imported-Pass-1", &hash).await.expect("verify"),
            Verdict::Valid { needs_rehash: true }
        );
        assert_eq!(hasher.verify("nope", &hash).await.expect("verify"), Verdict::Invalid);
        for garbage in [
            "garbage",
            "",
            "$argon2id$",
            "$argon2id$v=19$m=1,t=1,p=1$$",
            "$argon2id$v=19$m=99999999,t=1,p=1$c2FsdHNhbHQ$aGFzaA",
        ] {
            assert_eq!(hasher.verify("x", garbage).await.expect("verify"), Verdict::Invalid, "{garbage}");
        }
    }

    #[tokio::test]
    async fn other_params_need_rehash() {
        let hash = fast().hash("Correct-Horse-9").await.expect("hash");
        let stronger = PasswordHasher::new(&PasswordHashConfig { memory_kib: 2048, iterations: 1, parallelism: 1 });
        assert_eq!(
            stronger.verify("Correct-Horse-9", &hash).await.expect("verify"),
            Verdict::Valid { needs_rehash: true }
        );
    }

    #[tokio::test]
    async fn concurrent_hashing_is_correct() {
        let hasher = fast();
        let tasks: Vec<_> = (0..16)
            .map(|i| {
                let h = hasher.clone();
                tokio::spawn(async move {
                    let pw = format!("Password-{i}-Abc");
                    let hash = h.hash(&pw).await.expect("hash");
                    h.verify(&pw, &hash).await.expect("verify")
                })
            })
            .collect();
        for t in tasks {
            assert_eq!(t.await.expect("join"), Verdict::Valid { needs_rehash: false });
        }
    }
}
