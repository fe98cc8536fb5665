package cluster

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log"
	"log/slog"
	"net"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/asynkron/protoactor-go/cluster"
	"github.com/hashicorp/memberlist"

	"github.com/viable-systems/vsm-connections/event"
)

// meta is what a member gossips about itself (memberlist node metadata,
// limited to 512 bytes).
type meta struct {
	InstanceID string   `json:"id"`
	Host       string   `json:"h"`
	Port       int      `json:"p"`
	Kinds      []string `json:"k,omitempty"`
}

// peer is our copy of one memberlist node, taken inside memberlist's
// callbacks (which run under its lock), so nothing reads memberlist's own
// Node values later, racing with its writers.
type peer struct {
	name   string
	gossip string
	meta   meta
}

// provider is a protoactor ClusterProvider on hashicorp/memberlist. The
// memberlist is created by newProvider, before protoactor's remote starts,
// so a gossip port in use fails Start cleanly; StartMember attaches it to
// the cluster and joins the seeds.
//
// memberlist's callbacks only record the change and kick one goroutine
// (run), which is the single writer of protoactor's topology and the one
// publisher of member events: events keep their order and no callback ever
// blocks memberlist.
type provider struct {
	cfg  Config
	log  *slog.Logger
	self meta
	b    backend
	now  func() time.Time

	mu       sync.Mutex
	peers    map[string]peer      // by member name: memberlist's live view
	lastSeen map[string]time.Time // by member name
	warned   map[string]bool      // blocked instance ids already logged
	view     []Member             // what run last published, sorted by name (run's copy)
	cl       *cluster.Cluster     // set by StartMember

	// snap is view for readers that must not take mu on every message
	// (Node.Send checks the target's address): replaced whole, never
	// modified.
	snap atomic.Pointer[snapshot]

	kick     chan struct{}
	quit     chan struct{}
	done     chan struct{}
	stopOnce sync.Once
}

var _ cluster.ClusterProvider = (*provider)(nil)

// snapshot is an immutable published view.
type snapshot struct {
	members []Member
	byAddr  map[string]int // remote address -> index in members
}

func newSnapshot(ms []Member) *snapshot {
	s := &snapshot{members: ms, byAddr: make(map[string]int, len(ms))}
	for i, m := range ms {
		s.byAddr[m.Address] = i
	}
	return s
}

// reachable reports whether addr is a member protoactor accepts.
func (s *snapshot) reachable(addr string) bool {
	i, ok := s.byAddr[addr]
	return ok && s.members[i].Status != StatusBlocked
}

// backend is where the members are found: memberlist's gossip or etcd.
// It reports them with upsertPeer and removePeer.
type backend interface {
	// join is called when the cluster is attached, then every
	// RejoinInterval while this member sees no other.
	join()
	// leave tells the others this member leaves (bounded by timeout).
	leave(timeout time.Duration) error
	// stop releases everything; called once, after leave if graceful.
	stop() error
	// addr is the member's gossip or registry address, "" if none.
	addr() string
}

func newProvider(cfg Config, self meta, logger *slog.Logger) (*provider, error) {
	p := &provider{
		cfg:      cfg,
		log:      logger,
		self:     self,
		now:      time.Now,
		peers:    map[string]peer{},
		lastSeen: map[string]time.Time{},
		warned:   map[string]bool{},
		kick:     make(chan struct{}, 1),
		quit:     make(chan struct{}),
		done:     make(chan struct{}),
	}
	p.snap.Store(newSnapshot(nil))
	var err error
	if cfg.Provider == ProviderEtcd {
		p.b, err = newEtcdBackend(p)
	} else {
		p.b, err = newMemberlistBackend(p)
	}
	if err != nil {
		return nil, err
	}
	return p, nil
}

// memberlistBackend finds members by SWIM gossip.
type memberlistBackend struct {
	p  *provider
	ml *memberlist.Memberlist
}

func newMemberlistBackend(p *provider) (*memberlistBackend, error) {
	cfg := p.cfg
	mc := memberlist.DefaultLANConfig()
	mc.Name = cfg.Name
	mc.Label = cfg.Cluster
	mc.BindAddr, mc.AdvertiseAddr = cfg.Host, cfg.Host
	mc.BindPort, mc.AdvertisePort = cfg.GossipPort, cfg.GossipPort
	t := cfg.Timings
	mc.ProbeInterval = t.ProbeInterval
	mc.ProbeTimeout = t.ProbeTimeout
	mc.SuspicionMult = t.SuspicionMult
	mc.IndirectChecks = t.IndirectChecks
	mc.GossipInterval = t.GossipInterval
	mc.PushPullInterval = t.PushPullInterval
	// A TCP ping or push/pull to a live member on a LAN takes
	// milliseconds; memberlist's 10s would stall joins to dead seeds.
	mc.TCPTimeout = max(time.Second, 4*t.ProbeInterval)
	mc.GossipToTheDeadTime = 2 * t.PushPullInterval
	if len(cfg.GossipKey) > 0 {
		mc.SecretKey = slices.Clone(cfg.GossipKey)
		mc.GossipVerifyIncoming, mc.GossipVerifyOutgoing = true, true
	}
	mc.Delegate = (*metaDelegate)(p)
	mc.Events = (*eventDelegate)(p)
	mc.Ping = (*pingDelegate)(p)
	mc.Conflict = (*conflictDelegate)(p)
	mc.Logger = log.New(slogWriter{p.log}, "", 0)
	ml, err := memberlist.Create(mc)
	if err != nil {
		return nil, fmt.Errorf("%w: gossip on %s: %w", ErrStart, net.JoinHostPort(cfg.Host, strconv.Itoa(cfg.GossipPort)), err)
	}
	return &memberlistBackend{p: p, ml: ml}, nil
}

// addr is where this member gossips (the real port when 0 was asked).
func (b *memberlistBackend) addr() string {
	return net.JoinHostPort(b.p.cfg.Host, strconv.Itoa(int(b.ml.LocalNode().Port)))
}

// join contacts the seeds (not ourselves); failure is normal for the first
// member up, and run retries while we are alone.
func (b *memberlistBackend) join() {
	own := b.addr()
	var seeds []string
	for _, s := range b.p.cfg.Seeds {
		if s != own {
			seeds = append(seeds, s)
		}
	}
	if len(seeds) == 0 {
		return
	}
	if n, err := b.ml.Join(seeds); err != nil {
		b.p.log.Debug("cluster: join", slog.Int("contacted", n), slog.Any("error", err))
	}
}

func (b *memberlistBackend) leave(timeout time.Duration) error { return b.ml.Leave(timeout) }
func (b *memberlistBackend) stop() error                       { return b.ml.Shutdown() }

// gossipAddr is the member's gossip or registry address.
func (p *provider) gossipAddr() string { return p.b.addr() }

// StartMember implements cluster.ClusterProvider.
func (p *provider) StartMember(c *cluster.Cluster) error {
	p.mu.Lock()
	p.cl = c
	p.mu.Unlock()
	go p.run()
	p.signal()
	p.b.join()
	return nil
}

// StartClient implements cluster.ClusterProvider: a client would watch
// the members without being one, which this provider does not offer.
func (p *provider) StartClient(*cluster.Cluster) error {
	return fmt.Errorf("%w: the memberlist provider has no client mode", ErrStart)
}

// Shutdown implements cluster.ClusterProvider. A graceful one first tells
// the others we leave, so they drop us at once instead of after failure
// detection. It is idempotent.
func (p *provider) Shutdown(graceful bool) error {
	var err error
	p.stopOnce.Do(func() {
		if graceful {
			if lerr := p.b.leave(p.cfg.Timings.LeaveTimeout); lerr != nil {
				p.log.Warn("cluster: leave not confirmed", slog.Any("error", lerr))
			}
		}
		err = p.b.stop()
		close(p.quit)
		p.mu.Lock()
		started := p.cl != nil
		p.mu.Unlock()
		if started {
			<-p.done
		}
	})
	return err
}

func (p *provider) signal() {
	select {
	case p.kick <- struct{}{}:
	default: // a refresh is already due; it will read the latest peers
	}
}

func (p *provider) run() {
	defer close(p.done)
	tick := time.NewTicker(p.cfg.Timings.RejoinInterval)
	defer tick.Stop()
	for {
		select {
		case <-p.quit:
			return
		case <-p.kick:
			p.refresh()
		case <-tick.C:
			p.mu.Lock()
			alone := len(p.peers) <= 1
			p.mu.Unlock()
			if alone {
				p.b.join()
			}
			// Refresh so LastSeen-based statuses in Members stay current.
			p.refresh()
		}
	}
}

// refresh hands memberlist's view to protoactor and publishes the
// difference with the previous one as member events.
func (p *provider) refresh() {
	p.mu.Lock()
	cl := p.cl
	now := p.now()
	members := make(cluster.Members, 0, len(p.peers))
	view := make([]Member, 0, len(p.peers))
	for _, pr := range p.peers {
		if pr.meta.InstanceID == "" {
			continue // not one of ours (or metadata not yet received)
		}
		members = append(members, &cluster.Member{
			Id: pr.meta.InstanceID, Host: pr.meta.Host, Port: int32(pr.meta.Port), Kinds: slices.Clone(pr.meta.Kinds),
		})
		blocked := cl.Remote.BlockList().IsBlocked(pr.meta.InstanceID)
		m := Member{
			Name:          pr.name,
			InstanceID:    pr.meta.InstanceID,
			Address:       net.JoinHostPort(pr.meta.Host, strconv.Itoa(pr.meta.Port)),
			GossipAddress: pr.gossip,
			Status:        StatusAlive,
			LastSeen:      p.lastSeen[pr.name],
			Self:          pr.meta.InstanceID == p.self.InstanceID,
		}
		if m.Self {
			m.LastSeen = now
		} else if blocked {
			m.Status = StatusBlocked
			if !p.warned[m.InstanceID] {
				p.warned[m.InstanceID] = true
				p.log.Error("cluster: member is alive but refused by protoactor's block list after being declared dead; restart it to rejoin",
					slog.String("member", m.Name), slog.String("instance_id", m.InstanceID))
			}
		} else if p.cfg.Provider != ProviderEtcd && now.Sub(m.LastSeen) > p.unresponsiveAfter(len(p.peers)) {
			m.Status = StatusUnresponsive
		}
		view = append(view, m)
	}
	slices.SortFunc(view, func(a, b Member) int { return cmpStrings(a.Name, b.Name) })
	old := p.view
	p.view = view
	p.snap.Store(newSnapshot(view))
	p.mu.Unlock()

	// protoactor takes its own lock and publishes ClusterTopology: never
	// call it, or publish, holding ours.
	cl.MemberList.UpdateClusterTopology(members)

	es := cl.ActorSystem.EventStream
	// A blocked member is no member for protoactor: no events for it.
	had := map[string]bool{}
	for _, m := range old {
		had[m.InstanceID] = m.Status != StatusBlocked
	}
	has := map[string]bool{}
	for _, m := range view {
		has[m.InstanceID] = m.Status != StatusBlocked
	}
	for _, m := range old {
		if had[m.InstanceID] && !has[m.InstanceID] && !m.Self {
			es.Publish(&event.MemberLeft{Node: m.Name, InstanceID: m.InstanceID, Address: m.Address, At: now})
		}
	}
	for _, m := range view {
		if has[m.InstanceID] && !had[m.InstanceID] && !m.Self {
			es.Publish(&event.MemberJoined{Node: m.Name, InstanceID: m.InstanceID, Address: m.Address, At: now})
		}
	}
}

// unresponsiveAfter is how long without a direct ack makes a member
// "unresponsive" in Members: memberlist probes the others round-robin, one
// per ProbeInterval, so each is probed about every n intervals; three
// rounds missed is worth showing, though only memberlist decides death.
func (p *provider) unresponsiveAfter(n int) time.Duration {
	return time.Duration(3*max(n, 1)) * p.cfg.Timings.ProbeInterval
}

// current is the last published view (never nil once newProvider returned).
func (p *provider) current() *snapshot { return p.snap.Load() }

func (p *provider) members() []Member { return slices.Clone(p.current().members) }

func cmpStrings(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// metaDelegate gossips our metadata; we send no user messages.
type metaDelegate provider

func (d *metaDelegate) NodeMeta(limit int) []byte {
	b, err := json.Marshal(d.self)
	if err != nil || len(b) > limit {
		d.log.Error("cluster: member metadata too large", slog.Int("bytes", len(b)), slog.Int("limit", limit))
		return nil
	}
	return b
}
func (*metaDelegate) NotifyMsg([]byte)                {}
func (*metaDelegate) GetBroadcasts(int, int) [][]byte { return nil }
func (*metaDelegate) LocalState(bool) []byte          { return nil }
func (*metaDelegate) MergeRemoteState([]byte, bool)   {}

// eventDelegate runs under memberlist's node lock: copy and kick only.
type eventDelegate provider

func (d *eventDelegate) NotifyJoin(n *memberlist.Node)   { d.upsert(n) }
func (d *eventDelegate) NotifyUpdate(n *memberlist.Node) { d.upsert(n) }
func (d *eventDelegate) NotifyLeave(n *memberlist.Node)  { (*provider)(d).removePeer(n.Name, "") }

func (d *eventDelegate) upsert(n *memberlist.Node) {
	p := (*provider)(d)
	pr := peer{name: n.Name, gossip: net.JoinHostPort(n.Addr.String(), strconv.Itoa(int(n.Port)))}
	if err := json.Unmarshal(bytes.Clone(n.Meta), &pr.meta); err != nil {
		p.log.Warn("cluster: member with unreadable metadata ignored", slog.String("member", n.Name), slog.Any("error", err))
		pr.meta = meta{}
	}
	p.upsertPeer(pr)
}

// upsertPeer records a member (by name: a newer instance replaces an older).
func (p *provider) upsertPeer(pr peer) {
	p.mu.Lock()
	p.peers[pr.name] = pr
	p.lastSeen[pr.name] = p.now()
	p.mu.Unlock()
	p.signal()
}

// peerList copies the peers.
func (p *provider) peerList() []peer {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make([]peer, 0, len(p.peers))
	for _, pr := range p.peers {
		out = append(out, pr)
	}
	return out
}

// removePeer forgets a member; with an instance id, only if that is still
// the instance known under the name (a late removal of an old instance
// must not remove its replacement).
func (p *provider) removePeer(name, instanceID string) {
	p.mu.Lock()
	if pr, ok := p.peers[name]; ok && (instanceID == "" || pr.meta.InstanceID == instanceID) {
		delete(p.peers, name)
		delete(p.lastSeen, name)
	}
	p.mu.Unlock()
	p.signal()
}

// pingDelegate records direct acks as "last seen".
type pingDelegate provider

func (*pingDelegate) AckPayload() []byte { return nil }
func (d *pingDelegate) NotifyPingComplete(other *memberlist.Node, _ time.Duration, _ []byte) {
	p := (*provider)(d)
	p.mu.Lock()
	if _, ok := p.peers[other.Name]; ok {
		p.lastSeen[other.Name] = p.now()
	}
	p.mu.Unlock()
}

type conflictDelegate provider

func (d *conflictDelegate) NotifyConflict(existing, other *memberlist.Node) {
	d.log.Error("cluster: two members claim one name; the newcomer is refused",
		slog.String("name", existing.Name), slog.String("existing", existing.Address()), slog.String("other", other.Address()))
}

// slogWriter routes memberlist's "[LEVEL] memberlist: ..." lines to slog.
type slogWriter struct{ log *slog.Logger }

func (w slogWriter) Write(b []byte) (int, error) {
	line := string(bytes.TrimSpace(b))
	level := slog.LevelInfo
	for prefix, l := range map[string]slog.Level{"[DEBUG]": slog.LevelDebug, "[INFO]": slog.LevelDebug, "[WARN]": slog.LevelWarn, "[ERR]": slog.LevelError} {
		if len(line) >= len(prefix) && line[:len(prefix)] == prefix {
			level, line = l, line[len(prefix)+1:]
			break
		}
	}
	w.log.Log(context.Background(), level, line, slog.String("component", "memberlist"))
	return len(b), nil
}
