// Package parallel runs independent pieces of CPU-bound work (decrypting
// and verifying a batch of envelopes, say) on every core.
package parallel

import (
	"runtime"
	"sync"
	"sync/atomic"
)

// minPerWorker keeps small batches on one goroutine: spreading them costs
// more than it saves.
const minPerWorker = 16

// For calls fn(i) for every i in [0, n), on up to GOMAXPROCS goroutines,
// and returns when all calls have. fn must be safe to call concurrently
// for different i.
func For(n int, fn func(i int)) {
	workers := min(runtime.GOMAXPROCS(0), n/minPerWorker+1)
	if workers == 1 {
		// A goroutine to hand one small job to costs more than the job
		// (a single envelope's checks, on the path of every DM).
		for i := range n {
			fn(i)
		}
		return
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() { // bounded by GOMAXPROCS, joined below
			defer wg.Done()
			for i := int(next.Add(1) - 1); i < n; i = int(next.Add(1) - 1) {
				fn(i)
			}
		}()
	}
	wg.Wait()
}
