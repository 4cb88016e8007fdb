package node_test

// The package's tests start nodes through internal/parleytest, the
// project's integration harness; what stays here is the leak check.

import (
	"log/slog"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m,
		// Started once per process by libraries we use, never stopped.
		goleak.IgnoreAnyFunction("github.com/ipfs/go-log/v2/writer.(*MirrorWriter).logRoutine"),
		goleak.IgnoreTopFunction("github.com/dgraph-io/ristretto/v2/z.(*AllocatorPool).freeupAllocators"),
		goleak.IgnoreTopFunction("go.opencensus.io/stats/view.(*worker).start"),
		goleak.IgnoreAnyFunction("github.com/libp2p/go-libp2p-kad-dht/netsize.(*Estimator).track"),
		// BenchmarkGroupScale counts bytes with a libp2p BandwidthCounter,
		// whose rate sweeper runs for the process.
		goleak.IgnoreAnyFunction("github.com/libp2p/go-flow-metrics.(*sweeper).run"),
	)
}

// quiet drops logs, for benchmarks and for nodes expected to fail.
var quiet = slog.New(slog.DiscardHandler)
