package main

import (
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/parley-im/parley/gui/apitype"
	"github.com/parley-im/parley/gui/client"
)

// The presence settings of `parley settings`: typing indicators and last
// seen (PROTOCOL.md §10.1). Typing itself has no command: it is what the
// GUI and bots send as their user types (POST .../typing).

func presenceFlags(cmd *cobra.Command, typing, lastSeen *string) {
	cmd.Flags().StringVar(typing, "typing", "", "typing indicators `on|off`: send yours and see others'")
	cmd.Flags().StringVar(lastSeen, "last-seen", "", "last seen `on|off`: share yours with contacts and see theirs")
}

func checkPresenceFlags(typing, lastSeen string) error {
	if typing != "" {
		if _, err := parseOnOff(typing); err != nil {
			return fmt.Errorf("--typing: %w", err)
		}
	}
	if lastSeen != "" {
		if _, err := parseOnOff(lastSeen); err != nil {
			return fmt.Errorf("--last-seen: %w", err)
		}
	}
	return nil
}

// presenceRequest adds the flags given (checked already) to req.
func presenceRequest(req *apitype.SettingsRequest, typing, lastSeen string) {
	if typing != "" {
		on, _ := parseOnOff(typing)
		req.TypingIndicators = &on
	}
	if lastSeen != "" {
		on, _ := parseOnOff(lastSeen)
		req.LastSeen = &on
	}
}

func printPresenceSettings(w io.Writer, s client.SettingsView) {
	typing := "on; contacts and group members see when you type, and you see when they do"
	if !s.TypingIndicators {
		typing = "off; you neither send nor see typing"
	}
	fmt.Fprintf(w, "Typing indicators:\t%s\n", typing)
	seen := "on; contacts who share theirs see when you were last online, and you see theirs"
	if !s.LastSeen {
		seen = "off; you neither share nor see last seen"
	}
	fmt.Fprintf(w, "Last seen:\t%s\n", seen)
}
