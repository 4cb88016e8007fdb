package files

import (
	"errors"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"unsafe"
)

// partFile is the file a download writes its verified chunks into.
//
// Whole chunks go around the page cache (O_DIRECT) where the file system
// allows it. A download is written once and not read again soon: copying
// it through the page cache costs as much CPU as decrypting it, pushes out
// what the user's other programs had cached, and leaves the final fsync a
// whole file to write. (On a VM that hands free memory back to its host,
// every new page-cache page is also a trip to the hypervisor: writing
// 1 GiB buffered cost 2 CPU-s here, directly 0.1.) A chunk that is not
// block-aligned (a file's last one, usually) and file systems without
// O_DIRECT (tmpfs, some FUSE) go through the page cache, with writeback
// started as they accumulate.
type partFile struct {
	*os.File // buffered: reads, unaligned chunks, Sync, and the fallback

	direct    *os.File // nil where O_DIRECT is not available
	noDirect  atomic.Bool
	mu        sync.Mutex
	unflushed int64 // guarded by mu: buffered bytes since writeback was last started
}

// directAlign is the alignment O_DIRECT asks of memory, offsets and
// lengths: the logical block size, at most 4 KiB on the disks we meet.
const directAlign = 4096

// writebackEvery: after this many buffered bytes, the kernel is asked to
// start writing them out, so the fsync that ends a download finds little
// left to do.
const writebackEvery = 32 << 20

// openPart opens (creating) the part file at path.
func openPart(path string) (*partFile, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, err
	}
	return &partFile{File: f, direct: openDirect(path)}, nil
}

// writeChunk writes b at off. Direct writes want b from alignedBuffer.
func (p *partFile) writeChunk(b []byte, off int64) error {
	if p.direct != nil && !p.noDirect.Load() && isAligned(b, off) {
		_, err := p.direct.WriteAt(b, off)
		if !errors.Is(err, syscall.EINVAL) {
			return err
		}
		// The file system took O_DIRECT at open but refuses the write:
		// the page cache from now on.
		p.noDirect.Store(true)
	}
	if _, err := p.WriteAt(b, off); err != nil {
		return err
	}
	p.mu.Lock()
	p.unflushed += int64(len(b))
	flush := p.unflushed >= writebackEvery
	if flush {
		p.unflushed = 0
	}
	p.mu.Unlock()
	if flush {
		startWriteback(p.File)
	}
	return nil
}

// Close closes both descriptors.
func (p *partFile) Close() error {
	err := p.File.Close()
	if p.direct != nil {
		err = errors.Join(err, p.direct.Close())
	}
	return err
}

// alignedBuffer returns an empty slice with capacity n whose memory starts
// on a directAlign boundary.
func alignedBuffer(n int) []byte {
	b := make([]byte, n+directAlign)
	skip := 0
	if r := int(uintptr(unsafe.Pointer(&b[0])) % directAlign); r != 0 {
		skip = directAlign - r
	}
	return b[skip : skip : skip+n]
}

func isAligned(b []byte, off int64) bool {
	return len(b) > 0 && len(b)%directAlign == 0 && off%directAlign == 0 &&
		uintptr(unsafe.Pointer(&b[0]))%directAlign == 0
}
