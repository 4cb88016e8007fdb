package mailbox

import (
	"strings"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/parley-im/parley/node/mailbox/pb"
)

// What the service counts since it started: the operator's view of its
// load (Stats for `parley status`, Collector for Prometheus). Counters are
// atomics bumped on each answer, so that counting costs no lock and no
// allocation on the request path; the store's figures (owners, envelopes,
// bytes held) are read when asked, never cached.

// op is a kind of request, as counted.
type op int

const (
	opRegister op = iota
	opDeposit
	opChallenge
	opAuthenticate
	opFetch
	opAck
	opStatus
	opUnknown
	numOps
)

var opNames = [numOps]string{"register", "deposit", "challenge", "authenticate", "fetch", "ack", "status", "unknown"}

func opOf(req *pb.Request) op {
	switch req.Kind.(type) {
	case *pb.Request_Register:
		return opRegister
	case *pb.Request_Deposit:
		return opDeposit
	case *pb.Request_Challenge:
		return opChallenge
	case *pb.Request_Authenticate:
		return opAuthenticate
	case *pb.Request_Fetch:
		return opFetch
	case *pb.Request_Ack:
		return opAck
	case *pb.Request_Status:
		return opStatus
	}
	return opUnknown
}

// numCodes bounds the codes counted; a code past it (none today) is
// counted as the last.
const numCodes = int(pb.Code_CODE_UNSUPPORTED) + 1

// counters is what the service counts. The zero value is ready.
type counters struct {
	answers    [numOps][numCodes]atomic.Uint64 // every answer, by request and code
	duplicates atomic.Uint64                   // deposits answered OK that stored nothing (held, or acked already)
	fetched    atomic.Uint64                   // envelopes handed out in pages
	acked      atomic.Uint64                   // envelopes deleted on the owner's ack
	sweeps     atomic.Uint64                   // sweeps run
	swept      atomic.Uint64                   // envelopes the sweeps deleted
}

func (c *counters) answered(o op, code pb.Code) {
	i := int(code)
	if i < 0 || i >= numCodes {
		i = numCodes - 1
	}
	c.answers[o][i].Add(1)
}

// Stats is what the service did since it started.
type Stats struct {
	// Deposits stored (new envelopes); Duplicates were deposits of an
	// envelope held already or acknowledged by its owner (stored nothing,
	// answered OK).
	Deposits, Duplicates uint64
	// DepositsRefused counts refused deposits; Refusals every refused
	// request, deposits included (rate limits, bad signatures, ...).
	DepositsRefused, Refusals uint64
	// Fetched and Acked count envelopes handed to owners and deleted on
	// their acknowledgement.
	Fetched, Acked uint64
	// Sweeps run, and the expired envelopes they deleted.
	Sweeps, Swept uint64
}

// Stats returns what the service did since it started.
func (s *Service) Stats() Stats {
	c := &s.counters
	st := Stats{
		Duplicates: c.duplicates.Load(),
		Fetched:    c.fetched.Load(), Acked: c.acked.Load(),
		Sweeps: c.sweeps.Load(), Swept: c.swept.Load(),
	}
	st.Deposits = c.answers[opDeposit][pb.Code_CODE_OK].Load() - st.Duplicates
	for o := range numOps {
		for code := 1; code < numCodes; code++ {
			n := c.answers[o][code].Load()
			st.Refusals += n
			if o == opDeposit {
				st.DepositsRefused += n
			}
		}
	}
	return st
}

// MaxAccounts is the most owners the service serves (Config.MaxAccounts).
func (s *Service) MaxAccounts() int64 { return s.cfg.MaxAccounts }

// Collector exports the service's metrics to Prometheus: what it did
// since it started, what it holds now, and its limits. Register it on the
// node's own registry.
func (s *Service) Collector() prometheus.Collector { return collector{s} }

type collector struct{ s *Service }

func desc(name, help string, labels ...string) *prometheus.Desc {
	return prometheus.NewDesc("parley_mailbox_"+name, help, labels, nil)
}

var (
	descDeposits     = desc("deposits_total", "Deposits answered, by result: stored, duplicate (held or acknowledged already: nothing stored), or the refusal's code.", "result")
	descRefusals     = desc("refusals_total", "Requests refused, by request and reason (the protocol's code).", "request", "reason")
	descRequests     = desc("requests_total", "Requests answered, by request.", "request")
	descFetched      = desc("fetched_envelopes_total", "Envelopes handed to their owners in fetched pages.")
	descAcked        = desc("acked_envelopes_total", "Envelopes deleted on their owner's acknowledgement.")
	descSweeps       = desc("sweeps_total", "Sweeps of expired mail run.")
	descSwept        = desc("swept_envelopes_total", "Expired envelopes the sweeps deleted.")
	descOwners       = desc("owners", "Owners registered (accounts held).")
	descEnvelopes    = desc("envelopes", "Envelopes held for owners.")
	descBytes        = desc("bytes", "Bytes held for owners, as counted against their quotas (envelopes and a fixed overhead each).")
	descMaxOwners    = desc("owners_max", "The most owners the mailbox serves.")
	descQuotaCount   = desc("quota_envelopes", "Each owner's quota of envelopes.")
	descQuotaBytes   = desc("quota_bytes", "Each owner's quota of bytes.")
	descTTL          = desc("ttl_seconds", "How long mail waits for its owner.")
	collectorDescs   = []*prometheus.Desc{descDeposits, descRefusals, descRequests, descFetched, descAcked, descSweeps, descSwept, descOwners, descEnvelopes, descBytes, descMaxOwners, descQuotaCount, descQuotaBytes, descTTL}
	codeLabels       = codeNames()
	depositOKResults = [2]string{"stored", "duplicate"}
)

// codeNames are the codes as label values: "mailbox_full", not
// "CODE_MAILBOX_FULL".
func codeNames() [numCodes]string {
	var names [numCodes]string
	for i := range names {
		names[i] = strings.ToLower(strings.TrimPrefix(pb.Code(i).String(), "CODE_"))
	}
	return names
}

func (c collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range collectorDescs {
		ch <- d
	}
}

func (c collector) Collect(ch chan<- prometheus.Metric) {
	s := c.s
	k := &s.counters
	counter := func(d *prometheus.Desc, v uint64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), labels...)
	}
	gauge := func(d *prometheus.Desc, v int64) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, float64(v))
	}
	st := s.Stats()
	counter(descDeposits, st.Deposits, depositOKResults[0])
	counter(descDeposits, st.Duplicates, depositOKResults[1])
	for o := range numOps {
		var total uint64
		for code := range numCodes {
			n := k.answers[o][code].Load()
			total += n
			if code == 0 || n == 0 {
				continue // only the refusals that happened: a series per pair would be mostly zeros
			}
			counter(descRefusals, n, opNames[o], codeLabels[code])
			if o == opDeposit {
				counter(descDeposits, n, codeLabels[code])
			}
		}
		counter(descRequests, total, opNames[o])
	}
	counter(descFetched, st.Fetched)
	counter(descAcked, st.Acked)
	counter(descSweeps, st.Sweeps)
	counter(descSwept, st.Swept)
	if l, err := s.cfg.Store.MailboxLoad(); err != nil {
		for _, d := range []*prometheus.Desc{descOwners, descEnvelopes, descBytes} {
			ch <- prometheus.NewInvalidMetric(d, err)
		}
	} else {
		gauge(descOwners, l.Owners)
		gauge(descEnvelopes, l.Count)
		gauge(descBytes, l.Bytes)
	}
	gauge(descMaxOwners, s.cfg.MaxAccounts)
	gauge(descQuotaCount, s.cfg.Quota.Count)
	gauge(descQuotaBytes, s.cfg.Quota.Bytes)
	gauge(descTTL, int64(s.cfg.TTL.Seconds()))
}
