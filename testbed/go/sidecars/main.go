// Command sidecars connects simulated Istio sidecars to istiod over plaintext xDS (ADS, SotW).
//
// Each client subscribes to CDS and LDS, then to EDS for the EDS clusters and RDS for the route
// names it receives, and acknowledges every response, like Envoy. An HTTP control port changes the
// behaviour of one client at a time:
//
//	POST /stop-ack?pod=NAME.NS&type=EDS   stop acknowledging a type (the proxy goes STALE)
//	POST /resume?pod=NAME.NS              acknowledge again
//	POST /nack?pod=NAME.NS&type=LDS&msg=  reject the next response of a type with an error message
//	POST /disconnect?pod=NAME.NS          close the stream and stay away
//	POST /connect?pod=NAME.NS             connect again
//	GET  /status                          JSON: per client, connected and responses per type
//
// The pods come from a JSON file: [{"name":..., "namespace":..., "ip":..., "xds":"127.0.0.1:15010"}].
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"net/http"
	"os"
	"sync"
	"time"

	cluster "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	core "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	listener "github.com/envoyproxy/go-control-plane/envoy/config/listener/v3"
	hcm "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/http_connection_manager/v3"
	discovery "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	"google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/protobuf/types/known/structpb"
)

const (
	cdsURL = "type.googleapis.com/envoy.config.cluster.v3.Cluster"
	ldsURL = "type.googleapis.com/envoy.config.listener.v3.Listener"
	edsURL = "type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment"
	rdsURL = "type.googleapis.com/envoy.config.route.v3.RouteConfiguration"
)

var shortType = map[string]string{cdsURL: "CDS", ldsURL: "LDS", edsURL: "EDS", rdsURL: "RDS"}

type podSpec struct {
	Name      string `json:"name"`
	Namespace string `json:"namespace"`
	IP        string `json:"ip"`
	XDS       string            `json:"xds"`
	Version   string            `json:"version"`
	Type      string            `json:"type"` // sidecar (default) or router (a gateway)
	Labels    map[string]string `json:"labels"`
}

type client struct {
	pod podSpec

	mu        sync.Mutex
	noAck     map[string]bool   // short type -> do not acknowledge
	nackNext  map[string]string // short type -> error message for the next response
	stream    discovery.AggregatedDiscoveryService_StreamAggregatedResourcesClient
	cancel    context.CancelFunc
	connected bool
	wanted    bool
	responses map[string]int
	acked     map[string]int
	lastError string
}

func (c *client) id() string { return c.pod.Name + "." + c.pod.Namespace }

func (c *client) node() *core.Node {
	version := c.pod.Version
	if version == "" {
		version = "1.29.2"
	}
	labels := map[string]interface{}{"app": c.pod.Name}
	for k, v := range c.pod.Labels {
		labels[k] = v
	}
	nodeType := c.pod.Type
	if nodeType == "" {
		nodeType = "sidecar"
	}
	meta, _ := structpb.NewStruct(map[string]interface{}{
		"NAMESPACE":         c.pod.Namespace,
		"NAME":              c.pod.Name,
		"ISTIO_VERSION":     version,
		"CLUSTER_ID":        "Kubernetes",
		"MESH_ID":           "cluster.local",
		"SERVICE_ACCOUNT":   "default",
		"INTERCEPTION_MODE": "REDIRECT",
		"INSTANCE_IPS":      c.pod.IP,
		"LABELS":            labels,
	})
	return &core.Node{
		Id:       fmt.Sprintf("%s~%s~%s.%s~%s.svc.cluster.local", nodeType, c.pod.IP, c.pod.Name, c.pod.Namespace, c.pod.Namespace),
		Cluster:  c.pod.Name + "." + c.pod.Namespace,
		Metadata: meta,
	}
}

// run keeps the client connected while it is wanted.
func (c *client) run(conns *connPool) {
	for {
		c.mu.Lock()
		wanted := c.wanted
		c.mu.Unlock()
		if wanted {
			if err := c.session(conns); err != nil {
				c.mu.Lock()
				c.lastError = err.Error()
				c.mu.Unlock()
			}
		}
		time.Sleep(500 * time.Millisecond)
	}
}

func (c *client) session(conns *connPool) error {
	conn, err := conns.get(c.pod.XDS)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	stream, err := discovery.NewAggregatedDiscoveryServiceClient(conn).StreamAggregatedResources(ctx)
	if err != nil {
		return err
	}
	c.mu.Lock()
	c.stream, c.cancel, c.connected = stream, cancel, true
	c.mu.Unlock()
	defer func() {
		c.mu.Lock()
		c.connected, c.stream = false, nil
		c.mu.Unlock()
	}()
	send := func(req *discovery.DiscoveryRequest) error {
		req.Node = c.node()
		return stream.Send(req)
	}
	if err := send(&discovery.DiscoveryRequest{TypeUrl: cdsURL}); err != nil {
		return err
	}
	if err := send(&discovery.DiscoveryRequest{TypeUrl: ldsURL}); err != nil {
		return err
	}
	subscribed := map[string][]string{}
	for {
		resp, err := stream.Recv()
		if err != nil {
			return err
		}
		short := shortType[resp.TypeUrl]
		c.mu.Lock()
		c.responses[short]++
		nack, nacking := c.nackNext[short]
		delete(c.nackNext, short)
		skip := c.noAck[short]
		c.mu.Unlock()
		if nacking {
			req := &discovery.DiscoveryRequest{
				TypeUrl: resp.TypeUrl, ResponseNonce: resp.Nonce, ResourceNames: subscribed[resp.TypeUrl],
				ErrorDetail: &status.Status{Code: 3, Message: nack},
			}
			if err := send(req); err != nil {
				return err
			}
			continue
		}
		if skip {
			continue
		}
		ack := &discovery.DiscoveryRequest{
			TypeUrl: resp.TypeUrl, VersionInfo: resp.VersionInfo, ResponseNonce: resp.Nonce,
			ResourceNames: subscribed[resp.TypeUrl],
		}
		if err := send(ack); err != nil {
			return err
		}
		c.mu.Lock()
		c.acked[short]++
		c.mu.Unlock()
		// Follow-up subscriptions, as Envoy makes them: EDS for EDS clusters, RDS for route names.
		var next string
		var names []string
		switch resp.TypeUrl {
		case cdsURL:
			next, names = edsURL, edsClusters(resp)
		case ldsURL:
			next, names = rdsURL, routeNames(resp)
		}
		if next != "" && len(names) > 0 && !equal(subscribed[next], names) {
			subscribed[next] = names
			if err := send(&discovery.DiscoveryRequest{TypeUrl: next, ResourceNames: names}); err != nil {
				return err
			}
		}
	}
}

func equal(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func edsClusters(resp *discovery.DiscoveryResponse) []string {
	var out []string
	for _, any := range resp.Resources {
		c := &cluster.Cluster{}
		if err := any.UnmarshalTo(c); err != nil {
			continue
		}
		if c.GetType() == cluster.Cluster_EDS {
			name := c.GetName()
			if sn := c.GetEdsClusterConfig().GetServiceName(); sn != "" {
				name = sn
			}
			out = append(out, name)
		}
	}
	return out
}

func routeNames(resp *discovery.DiscoveryResponse) []string {
	seen := map[string]bool{}
	var out []string
	for _, any := range resp.Resources {
		l := &listener.Listener{}
		if err := any.UnmarshalTo(l); err != nil {
			continue
		}
		chains := append([]*listener.FilterChain{}, l.GetFilterChains()...)
		if l.GetDefaultFilterChain() != nil {
			chains = append(chains, l.GetDefaultFilterChain())
		}
		for _, fc := range chains {
			for _, f := range fc.GetFilters() {
				m := &hcm.HttpConnectionManager{}
				if f.GetTypedConfig() == nil || f.GetTypedConfig().UnmarshalTo(m) != nil {
					continue
				}
				if name := m.GetRds().GetRouteConfigName(); name != "" && !seen[name] {
					seen[name] = true
					out = append(out, name)
				}
			}
		}
	}
	return out
}

type connPool struct {
	mu    sync.Mutex
	conns map[string][]*grpc.ClientConn
	next  map[string]int
}

// get spreads clients over a few HTTP/2 connections per istiod.
func (p *connPool) get(addr string) (*grpc.ClientConn, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.conns[addr]) < 8 {
		conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()),
			grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(256<<20)))
		if err != nil {
			return nil, err
		}
		p.conns[addr] = append(p.conns[addr], conn)
	}
	p.next[addr]++
	return p.conns[addr][p.next[addr]%len(p.conns[addr])], nil
}

func main() {
	podsFile := flag.String("pods", "", "JSON file with the pods to simulate")
	control := flag.String("control", "127.0.0.1:0", "address of the HTTP control port")
	flag.Parse()
	raw, err := os.ReadFile(*podsFile)
	if err != nil {
		log.Fatal(err)
	}
	var pods []podSpec
	if err := json.Unmarshal(raw, &pods); err != nil {
		log.Fatal(err)
	}
	conns := &connPool{conns: map[string][]*grpc.ClientConn{}, next: map[string]int{}}
	clients := map[string]*client{}
	for _, p := range pods {
		c := &client{pod: p, noAck: map[string]bool{}, nackNext: map[string]string{}, wanted: true,
			responses: map[string]int{}, acked: map[string]int{}}
		clients[c.id()] = c
		go c.run(conns)
	}
	mux := http.NewServeMux()
	find := func(w http.ResponseWriter, r *http.Request) *client {
		c := clients[r.URL.Query().Get("pod")]
		if c == nil {
			http.Error(w, "unknown pod", http.StatusNotFound)
		}
		return c
	}
	mux.HandleFunc("/stop-ack", func(w http.ResponseWriter, r *http.Request) {
		if c := find(w, r); c != nil {
			c.mu.Lock()
			c.noAck[r.URL.Query().Get("type")] = true
			c.mu.Unlock()
		}
	})
	mux.HandleFunc("/resume", func(w http.ResponseWriter, r *http.Request) {
		if c := find(w, r); c != nil {
			c.mu.Lock()
			c.noAck, c.nackNext = map[string]bool{}, map[string]string{}
			cancel := c.cancel
			c.mu.Unlock()
			if cancel != nil {
				cancel() // reconnect: a fresh stream gets a full push, acknowledged this time
			}
		}
	})
	mux.HandleFunc("/nack", func(w http.ResponseWriter, r *http.Request) {
		if c := find(w, r); c != nil {
			c.mu.Lock()
			c.nackNext[r.URL.Query().Get("type")] = r.URL.Query().Get("msg")
			c.mu.Unlock()
		}
	})
	mux.HandleFunc("/disconnect", func(w http.ResponseWriter, r *http.Request) {
		if c := find(w, r); c != nil {
			c.mu.Lock()
			c.wanted = false
			cancel := c.cancel
			c.mu.Unlock()
			if cancel != nil {
				cancel()
			}
		}
	})
	mux.HandleFunc("/connect", func(w http.ResponseWriter, r *http.Request) {
		if c := find(w, r); c != nil {
			c.mu.Lock()
			c.wanted = true
			c.mu.Unlock()
		}
	})
	mux.HandleFunc("/status", func(w http.ResponseWriter, r *http.Request) {
		out := map[string]interface{}{}
		for id, c := range clients {
			c.mu.Lock()
			out[id] = map[string]interface{}{"connected": c.connected, "responses": c.responses, "acked": c.acked,
				"last_error": c.lastError}
			c.mu.Unlock()
		}
		_ = json.NewEncoder(w).Encode(out)
	})
	server := &http.Server{Addr: *control, Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	log.Printf("simulating %d sidecars; control on %s", len(pods), *control)
	log.Fatal(server.ListenAndServe())
}
