package fhir

import (
	"context"
	"errors"
	"fmt"
)

// VRead reads one version of typ/id (GET [base]/typ/id/_history/version),
// with the same retries, deadline and body cap as Read. A missing resource
// or version is ErrNotFound. An answer that is another resource, or states
// another version, is an error: a caller comparing versions must not
// compare the wrong ones.
func (c *Client) VRead(ctx context.Context, typ, id, version string) (*Resource, error) {
	if !validType(typ) {
		return nil, errors.New("fhir: vread: invalid resource type")
	}
	if !validID(id) {
		return nil, fmt.Errorf("fhir: vread %s: invalid id", typ)
	}
	if !validID(version) {
		return nil, fmt.Errorf("fhir: vread %s: invalid version", typ)
	}
	resp, err := c.get(ctx, typ, c.resourceURL(typ, id+"/_history/"+version, nil))
	if err != nil {
		return nil, err
	}
	r, err := parseResource(resp.body)
	if err != nil {
		return nil, fmt.Errorf("fhir: vread %s: %w", typ, err)
	}
	if r.Type != typ || (r.ID != "" && r.ID != id) {
		return nil, fmt.Errorf("fhir: vread %s: the server returned another resource", typ)
	}
	r.ETag = resp.etag
	if r.VersionID == "" {
		r.VersionID = versionFromETag(resp.etag)
	}
	if r.VersionID != "" && r.VersionID != version {
		return nil, fmt.Errorf("fhir: vread %s: the server returned another version", typ)
	}
	if r.VersionID == "" {
		r.VersionID = version
	}
	return r, nil
}
