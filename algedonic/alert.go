package algedonic

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Severity orders alerts from Info (lowest) to Emergency (highest).
type Severity int8

const (
	Info Severity = iota + 1
	Warning
	Critical
	Emergency
)

// ErrSeverity is matched by errors.Is for an unknown severity name.
var ErrSeverity = errors.New("algedonic: unknown severity")

var severityNames = [...]string{Info: "info", Warning: "warning", Critical: "critical", Emergency: "emergency"}

func (s Severity) String() string {
	if s < Info || s > Emergency {
		return fmt.Sprintf("severity(%d)", int8(s))
	}
	return severityNames[s]
}

// Valid reports whether s is one of the four severities.
func (s Severity) Valid() bool { return s >= Info && s <= Emergency }

// ParseSeverity accepts "info", "warning", "critical" or "emergency",
// case-insensitively.
func ParseSeverity(name string) (Severity, error) {
	n := strings.ToLower(strings.TrimSpace(name))
	for s := Info; s <= Emergency; s++ {
		if severityNames[s] == n {
			return s, nil
		}
	}
	return 0, fmt.Errorf("%w %q (want info, warning, critical or emergency)", ErrSeverity, name)
}

func (s Severity) MarshalText() ([]byte, error) {
	if !s.Valid() {
		return nil, fmt.Errorf("%w %d", ErrSeverity, int8(s))
	}
	return []byte(s.String()), nil
}

func (s *Severity) UnmarshalText(b []byte) error {
	v, err := ParseSeverity(string(b))
	if err != nil {
		return err
	}
	*s = v
	return nil
}

// Alert is a pain (or pleasure) signal that goes straight to System 5.
// It is immutable once raised.
type Alert struct {
	Severity Severity  `json:"severity"`
	Source   string    `json:"source"` // stable name of the raising actor, or any label
	Reason   string    `json:"reason"`
	Node     string    `json:"node"`
	Time     time.Time `json:"time"`
	// Instance is the node instance (vsm's Node.InstanceID) that published
	// the alert to the cluster: empty on the node that raised it, set on
	// every copy delivered from another node. Node names need not be
	// unique, so this, not Node, tells a remote alert from a local one.
	Instance string `json:"instance,omitempty"`
}

// AlertPriority is the mailbox priority of alerts: above every ordinary
// message (protoactor's default is 4, the range 0..7).
const AlertPriority int8 = 7

// GetPriority makes protoactor's priority mailbox put the alert ahead of
// ordinary traffic. It only works when the alert is sent bare (Send, no
// sender): an envelope hides it.
func (*Alert) GetPriority() int8 { return AlertPriority }

func (a *Alert) String() string {
	return fmt.Sprintf("%s alert from %s on %s: %s", a.Severity, a.Source, a.Node, a.Reason)
}

var _ json.Marshaler = Severity(0)

// MarshalJSON writes the severity's name.
func (s Severity) MarshalJSON() ([]byte, error) {
	b, err := s.MarshalText()
	if err != nil {
		return nil, err
	}
	return json.Marshal(string(b))
}

// UnmarshalJSON reads a severity's name.
func (s *Severity) UnmarshalJSON(b []byte) error {
	var name string
	if err := json.Unmarshal(b, &name); err != nil {
		return fmt.Errorf("%w: %s", ErrSeverity, b)
	}
	return s.UnmarshalText([]byte(name))
}
