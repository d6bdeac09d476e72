// pebblestress: drives a Pebble on loopback to show (or rule out) its order-lock deadlock.
//
//	mode same-order: one pending order, WORKERS goroutines POST-as-GET it in a loop for DURATION
//	mode issue:      WORKERS goroutines each issue certificates (newOrder, dns-01 via challtestsrv,
//	                 finalize, poll the order at once, download) until COUNT certificates
//	mode deactivate: WORKERS goroutines each place an order, answer its dns-01 challenge and at
//	                 once deactivate the authorization (what DELETE /domains/{id} does to an order
//	                 in flight, RFC 8555 §7.5.2), then poll it, until COUNT orders
//
// Every request has its own deadline (REQ_TIMEOUT); a request past it is a stall. At the end it
// probes: newNonce (no DB lock) and newOrder (DB lock) with a 5 s deadline each.
package main

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/crypto/acme"
)

var (
	dir        = flag.String("dir", "", "ACME directory URL")
	caFile     = flag.String("ca", "", "Pebble TLS certificate")
	dnsAPI     = flag.String("dnsapi", "", "challtestsrv management URL")
	mode       = flag.String("mode", "same-order", "same-order | orders-authz | issue | deactivate")
	workers    = flag.Int("workers", 16, "concurrent goroutines")
	duration   = flag.Duration("duration", 20*time.Second, "same-order: how long")
	count      = flag.Int("count", 200, "issue: certificates")
	reqTimeout = flag.Duration("req-timeout", 10*time.Second, "deadline of one request")
	label      = flag.String("label", "s", "domain label prefix")
)

func stamp() string { return time.Now().Format("15:04:05.000") }

func newClient(httpClient *http.Client) *acme.Client {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	return &acme.Client{Key: key, DirectoryURL: *dir, HTTPClient: httpClient, UserAgent: "pebblestress/1"}
}

func main() {
	flag.Parse()
	pem, err := os.ReadFile(*caFile)
	if err != nil {
		panic(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	httpClient := &http.Client{Transport: &http.Transport{
		TLSClientConfig:     &tls.Config{RootCAs: pool},
		MaxIdleConnsPerHost: 64,
	}}
	ctx := context.Background()
	var stalls, ok atomic.Int64
	call := func(what string, f func(ctx context.Context) error) error {
		c, cancel := context.WithTimeout(ctx, *reqTimeout)
		defer cancel()
		started := time.Now()
		err := f(c)
		if err != nil && c.Err() != nil {
			stalls.Add(1)
			fmt.Printf("%s STALL %s: no answer after %s (started %s)\n", stamp(), what, time.Since(started).Round(time.Millisecond), started.Format("15:04:05.000"))
		} else if err == nil {
			ok.Add(1)
		}
		return err
	}
	start := time.Now()
	switch *mode {
	case "same-order":
		client := newClient(httpClient)
		if _, err := client.Register(ctx, &acme.Account{}, acme.AcceptTOS); err != nil {
			panic(err)
		}
		order, err := client.AuthorizeOrder(ctx, acme.DomainIDs(*label+"-same.example"))
		if err != nil {
			panic(err)
		}
		fmt.Printf("%s order %s, %d goroutines polling it for %s\n", stamp(), order.URI, *workers, *duration)
		var wg sync.WaitGroup
		deadline := time.Now().Add(*duration)
		for w := 0; w < *workers; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for time.Now().Before(deadline) {
					if call("POST-as-GET order", func(c context.Context) error { _, e := client.GetOrder(c, order.URI); return e }) != nil {
						return // this goroutine's request stalled: stop it
					}
				}
			}()
		}
		wg.Wait()
	case "orders-authz":
		// newOrder (Pebble scans every authorization under its DB lock) and POST-as-GET of the
		// new authorization (Pebble holds that authorization's lock, then takes the DB lock), in a
		// loop: what issue-certificate does, from many clients at once.
		var wg sync.WaitGroup
		deadline := time.Now().Add(*duration)
		var n atomic.Int64
		for w := 0; w < *workers; w++ {
			wg.Add(1)
			go func(w int) {
				defer wg.Done()
				client := newClient(httpClient)
				if call("newAccount", func(c context.Context) error {
					_, e := client.Register(c, &acme.Account{}, acme.AcceptTOS)
					return e
				}) != nil {
					return
				}
				for time.Now().Before(deadline) {
					var order *acme.Order
					name := fmt.Sprintf("%s-%d.bench.example", *label, n.Add(1))
					if call("newOrder", func(c context.Context) (e error) { order, e = client.AuthorizeOrder(c, acme.DomainIDs(name)); return }) != nil {
						return
					}
					for k := 0; k < 3; k++ {
						if call("authz", func(c context.Context) (e error) { _, e = client.GetAuthorization(c, order.AuthzURLs[0]); return }) != nil {
							return
						}
					}
				}
			}(w)
		}
		wg.Wait()
		fmt.Printf("%s %d orders placed\n", stamp(), n.Load())
	case "issue":
		eachName(httpClient, call, func(client *acme.Client, name string) error { return issueOne(client, name, call) })
	case "deactivate":
		eachName(httpClient, call, func(client *acme.Client, name string) error { return deactivateInFlight(client, name, call) })
	}
	fmt.Printf("%s done in %s: %d requests answered, %d stalled\n", stamp(), time.Since(start).Round(time.Millisecond), ok.Load(), stalls.Load())
	// Probes: a request that takes no DB lock, and one that does.
	probe := newClient(httpClient)
	pc, cancel := context.WithTimeout(ctx, 5*time.Second)
	_, err = probe.Discover(pc)
	cancel()
	fmt.Printf("%s probe directory: %v\n", stamp(), errOr(err))
	pc, cancel = context.WithTimeout(ctx, 5*time.Second)
	_, err = probe.Register(pc, &acme.Account{}, acme.AcceptTOS)
	cancel()
	fmt.Printf("%s probe newAccount (nonce, then the DB): %v\n", stamp(), errOr(err))
	if stalls.Load() > 0 {
		os.Exit(3)
	}
}

func errOr(err error) string {
	if err == nil {
		return "answered"
	}
	return err.Error()
}

// answerDns01 fetches an authorization, publishes its dns-01 value at challtestsrv and answers
// the challenge.
func answerDns01(client *acme.Client, name, url string, call func(string, func(context.Context) error) error) error {
	var authz *acme.Authorization
	if err := call("authz", func(c context.Context) (e error) { authz, e = client.GetAuthorization(c, url); return }); err != nil {
		return err
	}
	var chal *acme.Challenge
	for _, ch := range authz.Challenges {
		if ch.Type == "dns-01" {
			chal = ch
		}
	}
	value, _ := client.DNS01ChallengeRecord(chal.Token)
	body, _ := json.Marshal(map[string]string{"host": "_acme-challenge." + name + ".", "value": value})
	if r, err := http.Post(*dnsAPI+"/set-txt", "application/json", bytes.NewReader(body)); err != nil {
		return err
	} else {
		r.Body.Close()
	}
	return call("challenge", func(c context.Context) error { _, e := client.Accept(c, chal); return e })
}

func issueOne(client *acme.Client, name string, call func(string, func(context.Context) error) error) error {
	var order *acme.Order
	if err := call("newOrder", func(c context.Context) (e error) { order, e = client.AuthorizeOrder(c, acme.DomainIDs(name)); return }); err != nil {
		return err
	}
	for _, url := range order.AuthzURLs {
		if err := answerDns01(client, name, url, call); err != nil {
			return err
		}
		var authz *acme.Authorization
		for {
			if err := call("authz poll", func(c context.Context) (e error) { authz, e = client.GetAuthorization(c, url); return }); err != nil {
				return err
			}
			if authz.Status != acme.StatusPending && authz.Status != "processing" {
				break
			}
			time.Sleep(50 * time.Millisecond)
		}
		if authz.Status != acme.StatusValid {
			return fmt.Errorf("%s: authz %s", name, authz.Status)
		}
	}
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	csr, _ := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{DNSNames: []string{name}}, crypto.Signer(key))
	// CreateOrderCert posts finalize and then polls the order at once, as our scheduler does.
	return call("finalize+poll+download", func(c context.Context) error {
		_, _, e := client.CreateOrderCert(c, order.FinalizeURL, csr, true)
		return e
	})
}

// deactivateInFlight answers an order's dns-01 challenge and deactivates its authorization while
// the CA may still be validating it, then polls the authorization once.
func deactivateInFlight(client *acme.Client, name string, call func(string, func(context.Context) error) error) error {
	var order *acme.Order
	if err := call("newOrder", func(c context.Context) (e error) { order, e = client.AuthorizeOrder(c, acme.DomainIDs(name)); return }); err != nil {
		return err
	}
	url := order.AuthzURLs[0]
	if err := answerDns01(client, name, url, call); err != nil {
		return err
	}
	// x/crypto/acme's RevokeAuthorization sends ACME v1's "resource" field, which -strict refuses.
	if err := call("deactivate", func(c context.Context) error { return postSigned(c, client, url, `{"status":"deactivated"}`) }); err != nil {
		return err
	}
	return call("authz poll", func(c context.Context) (e error) { _, e = client.GetAuthorization(c, url); return })
}

// postSigned sends one JWS-signed POST (RFC 8555 §6.2, ES256 with the account's "kid"), again
// with a fresh nonce after badNonce (Pebble refuses 5% of nonces on purpose, RFC 8555 §6.5), and
// fails on any other answer but 2xx.
func postSigned(ctx context.Context, client *acme.Client, url, payload string) (err error) {
	for attempt := 0; attempt < 5; attempt++ {
		if err = postSignedOnce(ctx, client, url, payload); err == nil || !strings.Contains(err.Error(), "badNonce") {
			return err
		}
	}
	return err
}

func postSignedOnce(ctx context.Context, client *acme.Client, url, payload string) error {
	dir, err := client.Discover(ctx)
	if err != nil {
		return err
	}
	head, err := http.NewRequestWithContext(ctx, http.MethodHead, dir.NonceURL, nil)
	if err != nil {
		return err
	}
	resp, err := client.HTTPClient.Do(head)
	if err != nil {
		return err
	}
	resp.Body.Close()
	b64 := base64.RawURLEncoding.EncodeToString
	protected, _ := json.Marshal(map[string]string{"alg": "ES256", "kid": string(client.KID),
		"nonce": resp.Header.Get("Replay-Nonce"), "url": url})
	signingInput := b64(protected) + "." + b64([]byte(payload))
	digest := crypto.SHA256.New()
	digest.Write([]byte(signingInput))
	r, s, err := ecdsa.Sign(rand.Reader, client.Key.(*ecdsa.PrivateKey), digest.Sum(nil))
	if err != nil {
		return err
	}
	signature := make([]byte, 64)
	r.FillBytes(signature[:32])
	s.FillBytes(signature[32:])
	body, _ := json.Marshal(map[string]string{"protected": b64(protected), "payload": b64([]byte(payload)), "signature": b64(signature)})
	post, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	post.Header.Set("Content-Type", "application/jose+json")
	post.Header.Set("User-Agent", "pebblestress/1")
	resp, err = client.HTTPClient.Do(post)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	answer, _ := io.ReadAll(resp.Body)
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("POST %s: %d %s", url, resp.StatusCode, answer)
	}
	return nil
}

// eachName runs WORKERS goroutines, each with an account of its own, over COUNT fresh names; a
// goroutine whose flow fails stops.
func eachName(httpClient *http.Client, call func(string, func(context.Context) error) error, flow func(*acme.Client, string) error) {
	var next atomic.Int64
	var wg sync.WaitGroup
	for w := 0; w < *workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			client := newClient(httpClient)
			if call("newAccount", func(c context.Context) error {
				_, e := client.Register(c, &acme.Account{}, acme.AcceptTOS)
				return e
			}) != nil {
				return
			}
			for {
				i := next.Add(1)
				if i > int64(*count) {
					return
				}
				if err := flow(client, fmt.Sprintf("%s-%d.bench.example", *label, i)); err != nil {
					fmt.Printf("%s worker %d: %v\n", stamp(), w, err)
					return
				}
			}
		}(w)
	}
	wg.Wait()
}
