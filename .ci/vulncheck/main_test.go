package main

import (
	"strings"
	"testing"
)

// A govulncheck JSON stream in the shape v1.9.0 writes: config, OSV
// entries, then findings at module, package and symbol level.
const stream = `{"config":{"protocol_version":"v1.0.0","scanner_version":"v1.9.0","db":"file:///db","go_version":"go1.26.8"}}
{"osv":{"id":"GO-2026-6865","summary":"Panic on two-block frames"}}
{"osv":{"id":"GO-2026-6609","summary":"Range headers"}}
{"osv":{"id":"GO-2024-3218","summary":"DHT censorship"}}
{"osv":{"id":"GO-2099-0001","summary":"imported, never called"}}
{"finding":{"osv":"GO-2026-6865","fixed_version":"v1.20.2","trace":[{"module":"github.com/klauspost/compress","version":"v1.20.1"}]}}
{"finding":{"osv":"GO-2099-0001","fixed_version":"v1.0.1","trace":[{"module":"example.com/m","version":"v1.0.0","package":"example.com/m/p"}]}}
{"finding":{"osv":"GO-2026-6865","fixed_version":"v1.20.2","trace":[{"module":"github.com/klauspost/compress","version":"v1.20.1","package":"github.com/klauspost/compress/huff0","function":"Compress4X"},{"module":"github.com/parley-im/parley","package":"github.com/parley-im/parley/storage","function":"Open"}]}}
{"finding":{"osv":"GO-2026-6865","fixed_version":"v1.20.2","trace":[{"module":"github.com/klauspost/compress","version":"v1.20.1","package":"github.com/klauspost/compress/zstd","function":"Encode","receiver":"*Encoder"}]}}
{"finding":{"osv":"GO-2026-6609","fixed_version":"v1.26.9","trace":[{"module":"stdlib","version":"v1.26.8","package":"net/http","function":"ServeContent"}]}}
{"finding":{"osv":"GO-2024-3218","trace":[{"module":"github.com/libp2p/go-libp2p-kad-dht","version":"v0.42.2","package":"github.com/libp2p/go-libp2p-kad-dht","function":"init"}]}}
`

func TestJudge(t *testing.T) {
	got, unreached, header, err := judge(strings.NewReader(stream))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(header, "v1.9.0") {
		t.Errorf("header %q does not name the scanner", header)
	}
	if unreached != 1 {
		t.Errorf("unreached = %d, want 1 (GO-2099-0001)", unreached)
	}
	want := map[string]bool{"GO-2024-3218": false, "GO-2026-6609": false, "GO-2026-6865": true}
	if len(got) != len(want) {
		t.Fatalf("got %d reachable, want %d: %+v", len(got), len(want), got)
	}
	for _, v := range got {
		fails, ok := want[v.ID]
		if !ok || v.Fails != fails {
			t.Errorf("%s: fails = %v, want %v (%s)", v.ID, v.Fails, fails, v.Why)
		}
	}
	if v := got[2]; v.Symbol != "github.com/klauspost/compress/huff0.Compress4X" || v.Summary == "" {
		t.Errorf("compress finding = %+v, want the first symbol trace and its summary", v)
	}
}

func TestJudgeRefusesGarbage(t *testing.T) {
	if _, _, _, err := judge(strings.NewReader(`{"config":`)); err == nil {
		t.Fatal("truncated JSON accepted")
	}
}
