// Command vulncheck decides whether govulncheck's findings fail CI. It
// reads `govulncheck -format json` on standard input, prints every finding
// whose vulnerable symbol our code can reach, and exits 1 if any of them is
// in a module we can upgrade and is not accepted below.
//
// Two kinds of reachable finding are printed but do not fail:
//   - the standard library's: the Go toolchain is the machine's (go.mod's
//     go line), not something this repository can upgrade; they are fixed
//     by moving to a newer Go patch release when one is available;
//   - those listed in accepted, each with the reason.
//
// Findings at module or package level only (imported, but the vulnerable
// function is never called) are counted and not listed.
//
// Usage: go run golang.org/x/vuln/cmd/govulncheck@VERSION -db file://DB -format json ./... | go run .ci/vulncheck/main.go
package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
)

// accepted are reachable vulnerabilities we knowingly live with. Each needs
// a reason a reviewer can check; remove an entry when a fix is released.
var accepted = map[string]string{
	"GO-2024-3218": "go-libp2p-kad-dht content censorship (provider records of a CID can be eclipsed by Sybil DHT nodes): " +
		"no fixed version exists; Parley's DHT only finds peers and group rendezvous points, and a member that cannot be " +
		"found there is still reached through known addresses, relays and group sync",
}

// message is the part of govulncheck's JSON protocol (x/vuln's
// internal/govulncheck Message) that we read.
type message struct {
	Config *struct {
		ProtocolVersion string `json:"protocol_version"`
		ScannerVersion  string `json:"scanner_version"`
		DB              string `json:"db"`
		GoVersion       string `json:"go_version"`
	} `json:"config"`
	OSV *struct {
		ID      string `json:"id"`
		Summary string `json:"summary"`
	} `json:"osv"`
	Finding *finding `json:"finding"`
}

type finding struct {
	OSV          string  `json:"osv"`
	FixedVersion string  `json:"fixed_version"`
	Trace        []frame `json:"trace"`
}

type frame struct {
	Module   string `json:"module"`
	Version  string `json:"version"`
	Package  string `json:"package"`
	Function string `json:"function"`
	Receiver string `json:"receiver"`
}

// verdict is what one reachable vulnerability means for CI.
type verdict struct {
	ID, Summary, Module, Version, Fixed, Symbol string
	Fails                                       bool
	Why                                         string
}

// judge reads the JSON stream and returns the reachable vulnerabilities,
// sorted by ID, and how many more were found only at module or package level.
func judge(r io.Reader) (reachable []verdict, unreached int, header string, err error) {
	dec := json.NewDecoder(r)
	summaries := map[string]string{}
	byID := map[string]*verdict{}
	seen := map[string]bool{}
	for {
		var m message
		if err := dec.Decode(&m); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			return nil, 0, "", fmt.Errorf("reading govulncheck's JSON: %w", err)
		}
		if m.Config != nil {
			header = fmt.Sprintf("govulncheck %s, protocol %s, %s, db %s",
				m.Config.ScannerVersion, m.Config.ProtocolVersion, m.Config.GoVersion, m.Config.DB)
		}
		if m.OSV != nil {
			summaries[m.OSV.ID] = m.OSV.Summary
		}
		f := m.Finding
		if f == nil || len(f.Trace) == 0 {
			continue
		}
		seen[f.OSV] = true
		// The first frame is the vulnerable symbol; it names a function
		// only when the call graph reaches it (scan level "symbol").
		top := f.Trace[0]
		if top.Function == "" || byID[f.OSV] != nil {
			continue
		}
		symbol := top.Package + "." + top.Function
		if top.Receiver != "" {
			symbol = top.Package + "." + strings.TrimPrefix(top.Receiver, "*") + "." + top.Function
		}
		v := &verdict{ID: f.OSV, Module: top.Module, Version: top.Version, Fixed: f.FixedVersion, Symbol: symbol}
		switch reason, ok := accepted[f.OSV]; {
		case top.Module == "stdlib":
			v.Why = "standard library: fixed by a newer Go patch release, not by this repository"
		case ok:
			v.Why = "accepted: " + reason
		default:
			v.Fails = true
			v.Why = "upgrade " + top.Module
			if f.FixedVersion != "" {
				v.Why += " to " + f.FixedVersion
			}
		}
		byID[f.OSV] = v
	}
	for id, v := range byID {
		v.Summary = summaries[id]
		reachable = append(reachable, *v)
	}
	sort.Slice(reachable, func(i, j int) bool { return reachable[i].ID < reachable[j].ID })
	return reachable, len(seen) - len(byID), header, nil
}

func main() {
	reachable, unreached, header, err := judge(os.Stdin)
	if err != nil {
		fmt.Fprintln(os.Stderr, "vulncheck:", err)
		os.Exit(2)
	}
	if header == "" {
		fmt.Fprintln(os.Stderr, "vulncheck: no govulncheck output on standard input")
		os.Exit(2)
	}
	fmt.Println(header)
	failed := 0
	for _, v := range reachable {
		mark := "note"
		if v.Fails {
			mark = "FAIL"
			failed++
		}
		fmt.Printf("%s %s %s@%s (fixed in %q) via %s\n     %s\n     %s\n",
			mark, v.ID, v.Module, v.Version, v.Fixed, v.Symbol, v.Summary, v.Why)
	}
	fmt.Printf("%d reachable (%d failing), %d more in imported code our calls do not reach\n",
		len(reachable), failed, unreached)
	if failed > 0 {
		os.Exit(1)
	}
}
