// Package diskspace tells how much space is left on a file system. The
// store's write gate and the file downloads both ask it.
package diskspace

import "errors"

// ErrUnknown: this platform cannot tell (the callers then skip their check,
// and a full disk shows as a failed write instead).
var ErrUnknown = errors.New("free disk space cannot be told on this platform")

// Free is the space, in bytes, that an unprivileged process can still
// write on the file system holding path (statfs's f_bavail, which leaves
// out the blocks reserved for root). One statfs call: about a microsecond
// (BenchmarkFree).
func Free(path string) (int64, error) { return free(path) }
