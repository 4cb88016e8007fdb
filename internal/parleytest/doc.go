// Package parleytest is Parley's integration harness: the one place tests
// start nodes and processes, wait for conditions and drive the GUI, in the
// manner of tailscale's tstest/integration.
//
// It provides:
//
//   - [StartNode]: an in-process node on loopback with its own data dir
//     (t.TempDir), mDNS off and fast retries, closed when the test ends;
//     [Node.Stop], [Node.Start] and [Node.Restart] on the same data dir, and
//     [Option]s for a bootstrap peer, a swarm key, a connection gater or
//     any other [node.Config] field.
//   - Verbs over nodes: [Befriend], [Connect], [CreateGroup], and a node's
//     view of its conversations, groups and files ([Node.Messages],
//     [Node.GroupTexts], [Node.WaitComplete], ...).
//   - [Eventually] and [EventuallyWithin]: poll a condition with a deadline
//     (tests never sleep for a fixed time and hope).
//   - [BuildParley] and [StartProcess]: the real `parley` binary, built
//     once per test binary, run on a data dir of its own; [Process.Stop]
//     (SIGTERM, expects a clean exit), [Process.Kill9] (a crash),
//     [Process.CLI] and [Process.Try] to run its subcommands.
//   - [StartBrowser]: a headless Chromium driving the web GUI, found by
//     ARIA role and name; the test is skipped when no Chromium is installed.
//   - [PublicDHTStandIn]: a loopback stand-in for the public IPFS DHT.
//   - [RandomFile], [FileHash] and [FilesContaining] for file tests.
//
// Everything stays on this machine: nodes listen on 127.0.0.1, mDNS is off
// and the public DHT is never joined (point it at [PublicDHTStandIn]).
// Only tests import this package, which is why it may import testing.
//
// What it does not provide: helpers for one package's internals (tests in
// package node cannot import it without a cycle) and fakes of the node for
// the API's tests (gui keeps its own).
package parleytest
