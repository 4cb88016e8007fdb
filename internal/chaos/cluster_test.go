package chaos

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/parley-im/parley/internal/netns"
	"github.com/parley-im/parley/internal/parleytest"
)

// groupName is the one group every node of a cluster belongs to.
const groupName = "chaos"

// node is one `parley run` process in a namespace of its own, on the
// cluster's switch.
type node struct {
	i    int
	name string // also its contact name with every other node
	ns   string
	proc *parleytest.Process // the nemesis's (the test goroutine's) alone
	api  *api                // safe from any goroutine
}

// cluster is n nodes, each a contact of every other, all in one group.
type cluster struct {
	t     *testing.T
	sw    *netns.Switch
	nodes []*node
	// smallDisk is the node whose data dir is a small tmpfs (-1: none).
	smallDisk int
	diskDir   string // its mount point
}

// listen is where every node listens, in its own namespace: fixed ports,
// so that the addresses its contacts hold stay right across restarts.
var listen = []string{"/ip4/0.0.0.0/tcp/4001", "/ip4/0.0.0.0/udp/4001/quic-v1"}

// newCluster starts n nodes on a switch whose random choices follow seed;
// node smallDisk (-1: none) keeps its data on a tmpfs of diskMiB.
func newCluster(t *testing.T, n int, seed uint64, smallDisk, diskMiB int, calm netns.Impairment) *cluster {
	t.Helper()
	netns.Require(t)
	prefix := netns.Prefix("pc")
	c := &cluster{t: t, sw: netns.NewSwitch(t, prefix, seed), smallDisk: smallDisk}
	for i := range n {
		nd := &node{i: i, name: fmt.Sprintf("n%02d", i), ns: fmt.Sprintf("%sh%d", prefix, i)}
		netns.Add(t, nd.ns)
		c.sw.Plug(nd.ns, fmt.Sprintf("10.214.0.%d/24", i+1))
		c.sw.Impair(i, calm)
		var dir string
		if i == smallDisk {
			dir = c.mountSmallDisk(diskMiB) // unmounted after the process stops
		}
		nd.proc = parleytest.NewProcess(t, nd.name)
		if dir != "" {
			nd.proc.Dir = dir
		}
		nd.proc.Listen = listen
		nd.proc.Prefix = []string{"ip", "netns", "exec", nd.ns}
		nd.api = newAPI(nd.ns, nd.proc.Dir)
		t.Cleanup(nd.api.http.CloseIdleConnections)
		c.nodes = append(c.nodes, nd)
	}
	for _, nd := range c.nodes {
		nd.proc.Start()
	}
	return c
}

// mountSmallDisk mounts a tmpfs of mib MiB for a data dir, unmounted when
// the test ends (after the node on it has stopped).
func (c *cluster) mountSmallDisk(mib int) string {
	c.t.Helper()
	dir := filepath.Join(c.t.TempDir(), "disk")
	if err := os.Mkdir(dir, 0o700); err != nil {
		c.t.Fatal(err)
	}
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", fmt.Sprintf("size=%dm,mode=0700", mib), "tmpfs", dir).CombinedOutput(); err != nil {
		c.t.Fatalf("mount tmpfs: %v: %s", err, out)
	}
	c.t.Cleanup(func() { exec.Command("umount", "-l", dir).Run() })
	c.diskDir = dir
	data := filepath.Join(dir, "data")
	if err := os.Mkdir(data, 0o700); err != nil {
		c.t.Fatal(err)
	}
	return data
}

// befriend makes every node a contact of every other (each adds the
// other's invite, with its addresses), and puts them all in one group.
func (c *cluster) befriend(ctx context.Context) {
	c.t.Helper()
	invites := make([]string, len(c.nodes))
	for i, nd := range c.nodes {
		self, err := nd.api.self(ctx)
		if err != nil {
			c.t.Fatalf("%s: %v", nd.name, err)
		}
		invites[i] = self.Invite
	}
	for _, a := range c.nodes {
		for j, b := range c.nodes {
			if a != b {
				if err := a.api.addContact(ctx, invites[j], b.name); err != nil {
					c.t.Fatalf("%s adding %s: %v", a.name, b.name, err)
				}
			}
		}
	}
	owner := c.nodes[0]
	if err := owner.api.createGroup(ctx, groupName); err != nil {
		c.t.Fatal(err)
	}
	for _, nd := range c.nodes[1:] {
		if err := owner.api.inviteToGroup(ctx, groupName, nd.name); err != nil {
			c.t.Fatalf("inviting %s: %v", nd.name, err)
		}
	}
	for _, nd := range c.nodes[1:] {
		parleytest.EventuallyWithin(c.t, 2*time.Minute, nd.name+" holding the group invitation", func() bool {
			gs, _ := nd.api.groupInvites(ctx)
			for _, g := range gs {
				if g.Name == groupName {
					return true
				}
			}
			return false
		})
		if err := nd.api.acceptGroup(ctx, groupName); err != nil {
			c.t.Fatalf("%s accepting: %v", nd.name, err)
		}
	}
	for _, nd := range c.nodes {
		parleytest.EventuallyWithin(c.t, 2*time.Minute, nd.name+" seeing every member of the group", func() bool {
			gs, _ := nd.api.groups(ctx)
			for _, g := range gs {
				if g.Name == groupName {
					return g.Members == len(c.nodes)
				}
			}
			return false
		})
	}
}
