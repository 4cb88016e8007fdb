package chaos

import (
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strings"
	"time"
)

// figures are a run's results, for the log and docs/reliability.md.
type figures struct {
	seed                  uint64
	nodes                 int
	chaosFor              time.Duration
	nemesis               string
	accepted              map[kind]int
	maybe                 int
	refused               map[string]int
	resolvedAfterHeal     int
	delivered, lost       int
	duplicated, invented  int
	findings              []string
	converge              time.Duration
	converged             bool // false: the deadline passed first
	afterHeal, afterStart []time.Duration
	latency               []time.Duration
	forwarded, dropped    int64
	duplicatedFrames      int64
	blocked               int64
	fullDisk              bool
}

// gather computes the figures from the history and the last verdict.
func gather(c *cluster, h *history, v verdict) figures {
	h.mu.Lock()
	defer h.mu.Unlock()
	f := figures{accepted: make(map[kind]int), refused: h.refused, findings: slices.Clone(h.findings),
		delivered: v.delivered, lost: len(v.pending) + len(v.files), duplicated: len(v.duplicated), invented: len(v.invented)}
	allSeen := make(map[*send]time.Time)
	for _, s := range h.sends {
		if s.maybe {
			f.maybe++
			continue
		}
		f.accepted[s.kind]++
		var last time.Time
		for _, r := range s.recipients(len(c.nodes)) {
			at, ok := h.seen[seenKey{r, s.text}]
			if !ok {
				last = time.Time{}
				break
			}
			if at.After(last) {
				last = at
			}
		}
		if !last.IsZero() {
			allSeen[s] = last
			f.latency = append(f.latency, max(0, last.Sub(s.at)))
		}
	}
	// After a heal or a restart: how long until every message accepted
	// before it was held by all its recipients.
	after := func(events []time.Time) []time.Duration {
		var out []time.Duration
		for _, e := range events {
			var worst time.Duration
			for s, at := range allSeen {
				if s.at.Before(e) && at.After(e) {
					worst = max(worst, at.Sub(e))
				}
			}
			out = append(out, worst)
		}
		return out
	}
	f.afterHeal, f.afterStart = after(h.events["heal"]), after(h.events["restart"])
	f.forwarded, f.dropped = c.sw.Forwarded.Load(), c.sw.Lost.Load()
	f.duplicatedFrames, f.blocked = c.sw.Duplicated.Load(), c.sw.Blocked.Load()
	return f
}

// spread is "median / p95 / max (n)" of ds.
func spread(ds []time.Duration) string {
	if len(ds) == 0 {
		return "–"
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	r := func(d time.Duration) string { return d.Round(100 * time.Millisecond).String() }
	return fmt.Sprintf("%s / %s / %s (n=%d)", r(s[len(s)/2]), r(s[len(s)*95/100]), r(s[len(s)-1]), len(s))
}

// markdown renders the figures as the "last run" section of
// docs/reliability.md.
func (f figures) markdown() string {
	var b strings.Builder
	p := func(format string, args ...any) { fmt.Fprintf(&b, format+"\n", args...) }
	commit, _ := exec.Command("git", "describe", "--always", "--dirty").Output()
	variant := "network and crash nemesis"
	if f.fullDisk {
		variant += ", with a full disk on one node"
	}
	p("Run of %s at commit %s, %s, %d CPU cores (GOMAXPROCS), %s.",
		time.Now().UTC().Format("2006-01-02 15:04 MST"), strings.TrimSpace(string(commit)), runtime.GOOS+"/"+runtime.GOARCH, runtime.GOMAXPROCS(0), variant)
	p("")
	p("| figure | value |")
	p("|---|---|")
	p("| seed | `%d` |", f.seed)
	p("| nodes (real processes, one network namespace each) | %d |", f.nodes)
	p("| chaos (workload and nemesis) | %v |", f.chaosFor.Round(time.Second))
	p("| nemesis | %s |", f.nemesis)
	p("| accepted: DMs / group messages / files | %d / %d / %d |", f.accepted[dm], f.accepted[groupMsg], f.accepted[file])
	p("| file offers whose answer was lost (may exist, at most once) | %d |", f.maybe)
	p("| sends settled after the heal (answer lost, retried with the client ID) | %d |", f.resolvedAfterHeal)
	p("| sends refused | %s |", refusedString(f.refused))
	p("| delivered to every recipient | %d |", f.delivered)
	p("| **lost** | **%d** |", f.lost)
	p("| **duplicated** | **%d** |", f.duplicated)
	p("| **invented** | **%d** |", f.invented)
	p("| **findings during the run** (duplicates, statuses backwards, crashes) | **%d** |", len(f.findings))
	if f.converged {
		p("| time to converge after the final heal | %v |", f.converge.Round(100*time.Millisecond))
	} else {
		p("| time to converge after the final heal | **did not converge** within %v |", f.converge.Round(time.Second))
	}
	p("| converge after a partition heals: median / p95 / max | %s |", spread(f.afterHeal))
	p("| converge after a restart: median / p95 / max | %s |", spread(f.afterStart))
	p("| accepted → held by every recipient: median / p95 / max | %s |", spread(f.latency))
	p("| frames: forwarded / lost / duplicated / blocked by partitions | %d / %d / %d / %d |", f.forwarded, f.dropped, f.duplicatedFrames, f.blocked)
	if len(f.findings) > 0 {
		p("")
		p("Findings:")
		p("")
		p("```")
		p("%s", firstFew(f.findings, 20))
		p("```")
	}
	return b.String()
}

func refusedString(m map[string]int) string {
	if len(m) == 0 {
		return "0"
	}
	var parts []string
	for k, n := range m {
		parts = append(parts, fmt.Sprintf("%d %s", n, strings.ReplaceAll(k, "|", "/")))
	}
	slices.Sort(parts)
	return strings.Join(parts, "; ")
}

// writeReport replaces the section of the report file between the
// markers named for the test (<!-- chaos:TestChaos:begin --> and
// <!-- chaos:TestChaos:end -->) with section.
func writeReport(path, test, section string) error {
	begin, end := "<!-- chaos:"+test+":begin -->", "<!-- chaos:"+test+":end -->"
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	s := string(b)
	i, j := strings.Index(s, begin), strings.Index(s, end)
	if i < 0 || j < i {
		return fmt.Errorf("%s has no %s … %s section", path, begin, end)
	}
	s = s[:i+len(begin)] + "\n" + section + s[j:]
	return os.WriteFile(path, []byte(s), 0o644)
}
