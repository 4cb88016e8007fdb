// Package chaos is Parley's chaos harness: real `parley run` processes,
// each in a network namespace of its own, on a switch that delays, loses,
// duplicates and reorders their packets, while a nemesis kills them with
// SIGKILL and restarts them, cuts the network into partitions and heals
// it, and (in the full-disk variant) fills one node's disk and empties it.
// Meanwhile a workload sends DMs between random pairs, group messages and
// small files through the nodes' local APIs, recording every send the API
// accepted; a recorder polls every node's conversations, and a checker,
// once everything is healed, checks the history:
//
//   - every accepted message is held by every recipient exactly once,
//     under the ID the sender's API answered, and a DM's sender sees it
//     delivered; every file arrives complete, with the bytes sent;
//   - no node holds a message no one sent it (none invented);
//   - the status a sender sees never goes backwards (queued, sent,
//     delivered, read), and no node crashes.
//
// Its random choices (the nemesis's schedule, the workload, the switch's
// per-packet dice) follow a seed printed in the log; the timing of real
// processes does not, so a seed reproduces the faults, not the run.
//
// All of it is in the package's test files (it runs `parley` through the
// integration harness, internal/parleytest, which only tests may import);
// this file only describes it. The tests are in chaos_test.go: TestChaosShort runs in CI (as root;
// skipped elsewhere); TestChaos is the long form, and
// TestChaosFullDisk the full-disk variant, run by flags. docs/reliability.md
// says how, and holds the figures of the last long run.
package chaos
