package client_test

import (
	"context"
	"log"
	"os"
	"path/filepath"

	"github.com/parley-im/parley"
	"github.com/parley-im/parley/gui/client"
)

// Example_bot is the README's bot: it answers every text message, in a DM
// or a group. It compiles with the tests but does not run (no Output):
// it needs a running node. TestReadmeBot holds the README's copy to it.
func Example_bot() {
	// The node writes its URL and token to DATA/api.json on every start;
	// the client reads them there (again after a restart of the node).
	config, _ := os.UserConfigDir()
	c, err := client.Open(filepath.Join(config, "parley"))
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	ctx := context.Background()
	events, err := c.Events(ctx)
	if err != nil {
		log.Fatal(err)
	}
	defer events.Close()
	for {
		ev, err := events.Next(ctx)
		if err != nil {
			log.Fatal(err) // io.EOF: the node stopped (or we fell behind): reconnect
		}
		m := ev.Message
		if ev.Type != parley.EventMessage || m.Outgoing || m.Kind != parley.KindText {
			continue // our own messages come as events too
		}
		reply := "you said: " + m.Text
		if m.To == "" { // a group message: answer in the group
			_, err = c.SendToGroup(ctx, m.Conversation.String(), reply)
		} else {
			_, err = c.Send(ctx, m.From, reply)
		}
		if err != nil {
			log.Print(err)
		}
	}
}
