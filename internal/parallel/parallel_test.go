package parallel

import (
	"sync/atomic"
	"testing"
)

// Every index is visited exactly once, for batches below and above the
// size that spreads work.
func TestForVisitsEachIndexOnce(t *testing.T) {
	for _, n := range []int{0, 1, 15, 16, 17, 1000} {
		seen := make([]atomic.Int32, n)
		For(n, func(i int) { seen[i].Add(1) })
		for i := range seen {
			if c := seen[i].Load(); c != 1 {
				t.Fatalf("n=%d: index %d visited %d times", n, i, c)
			}
		}
	}
}
