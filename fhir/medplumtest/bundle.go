package medplumtest

import (
	"encoding/json"
	"fmt"

	"github.com/mbcplan/mbcplan/fhir/fhirtest"
)

// toTransaction turns a Bundle into a transaction of "PUT Type/id" entries,
// read as the sandbox server reads it (fhirtest.BundleEntries: the same ids,
// references to other entries' fullUrls rewritten to "Type/id"), so both
// servers hold the same record. Error messages name entries by index only.
func toTransaction(data []byte) ([]byte, error) {
	entries, err := fhirtest.BundleEntries(data)
	if err != nil {
		return nil, fmt.Errorf("medplumtest: %v", err)
	}
	type request struct {
		Method string `json:"method"`
		URL    string `json:"url"`
	}
	type entry struct {
		Resource map[string]any `json:"resource"`
		Request  request        `json:"request"`
	}
	tx := struct {
		ResourceType string  `json:"resourceType"`
		Type         string  `json:"type"`
		Entry        []entry `json:"entry"`
	}{ResourceType: "Bundle", Type: "transaction", Entry: make([]entry, 0, len(entries))}
	for _, e := range entries {
		tx.Entry = append(tx.Entry, entry{e.Doc, request{"PUT", e.Type + "/" + e.ID}})
	}
	out, err := json.Marshal(tx)
	if err != nil {
		return nil, fmt.Errorf("medplumtest: load bundle: %v", err)
	}
	return out, nil
}
