package mailbox

import (
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/parley-im/parley"
	"github.com/parley-im/parley/node/mailbox/pb"
)

// gathered is a registry's families by name.
func gathered(t *testing.T, reg *prometheus.Registry) map[string]*dto.MetricFamily {
	t.Helper()
	fams, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := make(map[string]*dto.MetricFamily, len(fams))
	for _, f := range fams {
		out[f.GetName()] = f
	}
	return out
}

// value is the sample of family name whose labels include want (name,
// value pairs); ok is false when there is none.
func value(fams map[string]*dto.MetricFamily, name string, want ...string) (v float64, ok bool) {
	f := fams[name]
	if f == nil {
		return 0, false
	}
next:
	for _, m := range f.GetMetric() {
		for i := 0; i+1 < len(want); i += 2 {
			found := false
			for _, l := range m.GetLabel() {
				found = found || (l.GetName() == want[i] && l.GetValue() == want[i+1])
			}
			if !found {
				continue next
			}
		}
		switch {
		case m.Counter != nil:
			return m.Counter.GetValue(), true
		case m.Gauge != nil:
			return m.Gauge.GetValue(), true
		}
	}
	return 0, false
}

// TestCollector: each thing the service does moves its figure, and the
// held figures are the store's.
func TestCollector(t *testing.T) {
	b := newBox(t, func(c *Config) { c.Quota.Count, c.TTL = 3, time.Hour })
	reg := prometheus.NewRegistry()
	reg.MustRegister(b.svc.Collector())
	alice := newPerson(t)
	cap := alice.register(t, b)
	owner := alice.owner(t)
	c := newPerson(t).dial(t, b)
	first := envelope(100)
	for _, env := range [][]byte{first, first, envelope(100), envelope(100), envelope(100)} {
		_ = c.Deposit(ctx(t), owner, &cap, env) // the last is refused: the quota is 3
	}
	wantRefused(t, c.Deposit(ctx(t), owner, nil, envelope(10)), pb.Code_CODE_BAD_CAPABILITY)
	_, err := c.Fetch(ctx(t), nil, 10)
	wantRefused(t, err, pb.Code_CODE_UNAUTHENTICATED)

	mail := alice.fetchAll(t, b) // 3 envelopes in pages of 2: two fetches
	ac := alice.dial(t, b)
	if err := ac.Authenticate(ctx(t), alice.key); err != nil {
		t.Fatal(err)
	}
	if _, err := ac.Ack(ctx(t), []parley.EnvelopeID{mail[0].ID}); err != nil {
		t.Fatal(err)
	}
	b.clock.Advance(2 * time.Hour)
	if n, err := b.svc.Sweep(); err != nil || n != 2 {
		t.Fatalf("Sweep = %d, %v; want the 2 left", n, err)
	}

	fams := gathered(t, reg)
	tests := []struct {
		name   string
		labels []string
		want   float64
	}{
		{"parley_mailbox_deposits_total", []string{"result", "stored"}, 3},
		{"parley_mailbox_deposits_total", []string{"result", "duplicate"}, 1},
		{"parley_mailbox_deposits_total", []string{"result", "mailbox_full"}, 1},
		{"parley_mailbox_deposits_total", []string{"result", "bad_capability"}, 1},
		{"parley_mailbox_refusals_total", []string{"request", "deposit", "reason", "mailbox_full"}, 1},
		{"parley_mailbox_refusals_total", []string{"request", "fetch", "reason", "unauthenticated"}, 1},
		{"parley_mailbox_requests_total", []string{"request", "fetch"}, 3},
		{"parley_mailbox_requests_total", []string{"request", "register"}, 1},
		{"parley_mailbox_fetched_envelopes_total", nil, 3},
		{"parley_mailbox_acked_envelopes_total", nil, 1},
		{"parley_mailbox_sweeps_total", nil, 1},
		{"parley_mailbox_swept_envelopes_total", nil, 2},
		{"parley_mailbox_owners", nil, 1},
		{"parley_mailbox_envelopes", nil, 0},
		{"parley_mailbox_bytes", nil, 0},
		{"parley_mailbox_quota_envelopes", nil, 3},
		{"parley_mailbox_owners_max", nil, 1000},
		{"parley_mailbox_ttl_seconds", nil, 3600},
	}
	for _, tt := range tests {
		if got, ok := value(fams, tt.name, tt.labels...); !ok || got != tt.want {
			t.Errorf("%s%v = %v (found %v), want %v", tt.name, tt.labels, got, ok, tt.want)
		}
	}
	if got, want := b.svc.Stats(), (Stats{Deposits: 3, Duplicates: 1, DepositsRefused: 2, Refusals: 3, Fetched: 3, Acked: 1, Sweeps: 1, Swept: 2}); got != want {
		t.Errorf("Stats() = %+v, want %+v", got, want)
	}
}
