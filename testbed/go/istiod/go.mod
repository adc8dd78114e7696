// Builds the testbed's istiod (pilot-discovery) from the Go module proxy: Istio 1.29.2.
module meshhealth.testbed/istiod

go 1.25.7

require istio.io/istio v0.0.0-20260409200358-0c774325b938
