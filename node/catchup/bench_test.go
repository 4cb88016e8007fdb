package catchup

import (
	"math/rand/v2"
	"testing"
)

// BenchmarkCatchUp10k: a member with nothing syncs 10,000 envelopes of
// 300 bytes from another, over loopback TCP.
func BenchmarkCatchUp10k(b *testing.B) {
	rng := rand.New(rand.NewPCG(40, 40))
	envs := gen(rng, 10_000, key1, 300, spread(0))
	full := newMemLog(key1)
	full.add(envs...)
	pe, pf := pair(b, newMemLog(key1), full)
	b.SetBytes(int64(10_000 * 300))
	b.ReportAllocs()
	rounds, n := 0, 0
	for b.Loop() {
		b.StopTimer()
		empty := newMemLog(key1)
		pe.setLog(conv, empty)
		b.StartTimer()
		st, err := pe.sync(pf)
		if err != nil {
			b.Fatal(err)
		}
		if st.Received != 10_000 {
			b.Fatalf("received %d", st.Received)
		}
		rounds += st.Rounds
		n++
	}
	b.ReportMetric(float64(rounds)/float64(n), "rounds/op")
}
