/* SPDX-License-Identifier: MIT */
// lockedpool_model.cpp — a MODEL of Bitcoin Core's LockedPool (src/support/lockedpool.cpp) and of
// the wipe its secure_allocator does, written for bench_pool.c. It is NOT Bitcoin's code: Bitcoin
// Core is not packaged in Debian, so this file re-implements the published algorithm to compare
// against it in the same run. What it reproduces, because that is what the pool costs:
//   - arenas of 256 KiB (ARENA_SIZE), mmap'd, mlock'd and MADV_DONTDUMP'd, kept for the life of the
//     pool (Bitcoin never releases an arena before the pool is destroyed); the first arena is
//     capped by RLIMIT_MEMLOCK as Bitcoin caps it; a failed mlock is accepted (Bitcoin's
//     LockingFailed callback returns true);
//   - per arena, best fit: free chunks in a size-ordered multimap (lower_bound on the size
//     rounded up to 16 bytes, ARENA_ALIGN), the used chunk cut from the END of the free chunk,
//     neighbours found through two hash maps (chunk start -> free chunk, chunk end -> free chunk)
//     and coalesced on free; used chunks in a hash map from pointer to size;
//   - one std::mutex around every alloc and free; alloc tries each arena in order and adds a new
//     one when none fits; free finds the arena by a linear search; requests of 0 bytes or over
//     256 KiB are refused (NULL: Bitcoin's secure_allocator throws std::bad_alloc);
//   - secure_allocator::deallocate wipes the n bytes (memory_cleanse: memset + compiler barrier)
//     before LockedPool::free, outside the lock.
// C entry points for bench_pool.c: lpm_alloc(n), lpm_free(p, n).
#include <sys/mman.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <list>
#include <map>
#include <mutex>
#include <unordered_map>

namespace {

constexpr size_t ARENA_SIZE = 256 * 1024;
constexpr size_t ARENA_ALIGN = 16;

size_t align_up(size_t x, size_t align) { return (x + align - 1) & ~(align - 1); }

// memory_cleanse: memset, then an empty asm that takes the pointer and clobbers memory, so the
// compiler must assume the zeros are read and cannot drop the memset.
void cleanse(void *p, size_t n) {
    std::memset(p, 0, n);
    __asm__ __volatile__("" : : "r"(p) : "memory");
}

class Arena {
public:
    Arena(char *base, size_t size) : base_(base), end_(base + size) {
        auto it = by_size_.emplace(size, base);
        free_start_.emplace(base, it);
        free_end_.emplace(base + size, it);
    }
    bool contains(const void *p) const {
        auto c = static_cast<const char *>(p);
        return c >= base_ && c < end_;
    }
    char *base() const { return base_; }
    size_t size() const { return static_cast<size_t>(end_ - base_); }

    void *alloc(size_t size) {
        size = align_up(size, ARENA_ALIGN);
        if (size == 0) return nullptr;
        auto fit = by_size_.lower_bound(size); // best fit: the smallest free chunk that is large enough
        if (fit == by_size_.end()) return nullptr;
        const size_t chunk_size = fit->first;
        char *const chunk = fit->second;
        const size_t left = chunk_size - size;
        char *const user = chunk + left; // taken from the end of the free chunk
        used_.emplace(user, size);
        free_end_.erase(chunk + chunk_size);
        if (left == 0) {
            free_start_.erase(chunk);
        } else {
            auto rest = by_size_.emplace(left, chunk);
            free_start_[chunk] = rest;
            free_end_.emplace(chunk + left, rest);
        }
        by_size_.erase(fit);
        return user;
    }

    // false: not a live chunk of this arena (Bitcoin throws "invalid or double free").
    bool free(void *p) {
        auto u = used_.find(static_cast<char *>(p));
        if (u == used_.end()) return false;
        char *start = u->first;
        size_t size = u->second;
        used_.erase(u);
        auto prev = free_end_.find(start); // a free chunk that ends where this one starts
        if (prev != free_end_.end()) {
            start -= prev->second->first;
            size += prev->second->first;
            by_size_.erase(prev->second);
            free_end_.erase(prev);
        }
        auto next = free_start_.find(start + size); // a free chunk that starts where this one ends
        if (next != free_start_.end()) {
            size += next->second->first;
            by_size_.erase(next->second);
            free_start_.erase(next);
        }
        auto it = by_size_.emplace(size, start);
        free_start_[start] = it;
        free_end_[start + size] = it;
        return true;
    }

private:
    using SizeMap = std::multimap<size_t, char *>;
    char *base_, *end_;
    SizeMap by_size_;
    std::unordered_map<char *, SizeMap::const_iterator> free_start_, free_end_;
    std::unordered_map<char *, size_t> used_;
};

class LockedPoolModel {
public:
    ~LockedPoolModel() {
        for (auto &a : arenas_) {
            cleanse(a.base(), a.size());
            munlock(a.base(), a.size());
            munmap(a.base(), a.size());
        }
    }
    void *alloc(size_t size) {
        std::lock_guard<std::mutex> lock(mutex_);
        if (size == 0 || size > ARENA_SIZE) return nullptr;
        for (auto &a : arenas_)
            if (void *p = a.alloc(size)) return p;
        if (!new_arena()) return nullptr;
        return arenas_.back().alloc(size);
    }
    bool free(void *p) {
        std::lock_guard<std::mutex> lock(mutex_);
        for (auto &a : arenas_)
            if (a.contains(p)) return a.free(p);
        return false;
    }

private:
    bool new_arena() {
        size_t size = ARENA_SIZE;
        if (arenas_.empty()) {
            struct rlimit rl;
            if (getrlimit(RLIMIT_MEMLOCK, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur > 0)
                size = std::min(size, static_cast<size_t>(rl.rlim_cur));
        }
        size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
        size_t len = align_up(size, page);
        void *p = mmap(nullptr, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED) return false;
        (void)mlock(p, len); // a failure is accepted, as Bitcoin's LockingFailed callback accepts it
#ifdef MADV_DONTDUMP
        (void)madvise(p, len, MADV_DONTDUMP);
#endif
        arenas_.emplace_back(static_cast<char *>(p), size);
        return true;
    }
    std::mutex mutex_;
    std::list<Arena> arenas_;
};

LockedPoolModel &instance() {
    static LockedPoolModel pool; // like LockedPoolManager: one pool per process, made on first use
    return pool;
}

} // namespace

extern "C" void *lpm_alloc(size_t n) { return instance().alloc(n); }

// secure_allocator<T>::deallocate: memory_cleanse(p, n) and then LockedPoolManager::free(p).
extern "C" void lpm_free(void *p, size_t n) {
    if (p == nullptr) return;
    cleanse(p, n);
    if (!instance().free(p)) std::abort(); // Bitcoin throws std::runtime_error here; the bench has a bug
}
