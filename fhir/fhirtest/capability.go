package fhirtest

import (
	"net/http"
	"slices"
)

// baseTypes are listed in the CapabilityStatement even when the store holds
// none of them.
func baseTypes() []string {
	return []string{
		"AllergyIntolerance", "CarePlan", "Condition", "DocumentReference", "Encounter",
		"MedicationRequest", "MedicationStatement", "Observation", "Patient",
		"Practitioner", "Procedure", "Provenance",
	}
}

type capabilityStatement struct {
	ResourceType   string            `json:"resourceType"`
	Status         string            `json:"status"`
	Date           string            `json:"date"`
	Kind           string            `json:"kind"`
	Software       map[string]string `json:"software"`
	Implementation map[string]string `json:"implementation"`
	FHIRVersion    string            `json:"fhirVersion"`
	Format         []string          `json:"format"`
	Rest           []capabilityRest  `json:"rest"`
}

type capabilityRest struct {
	Mode     string               `json:"mode"`
	Security *capabilitySecurity  `json:"security,omitempty"`
	Resource []capabilityResource `json:"resource"`
}

type capabilitySecurity struct {
	Extension []extension       `json:"extension,omitempty"`
	Service   []codeableConcept `json:"service"`
}

type extension struct {
	URL       string      `json:"url"`
	ValueURI  string      `json:"valueUri,omitempty"`
	Extension []extension `json:"extension,omitempty"`
}

type codeableConcept struct {
	Coding []coding `json:"coding"`
	Text   string   `json:"text,omitempty"`
}

type coding struct {
	System string `json:"system"`
	Code   string `json:"code"`
}

type capabilityResource struct {
	Type              string            `json:"type"`
	Interaction       []codeOnly        `json:"interaction"`
	Versioning        string            `json:"versioning"`
	ReadHistory       bool              `json:"readHistory"`
	UpdateCreate      bool              `json:"updateCreate"`
	ConditionalCreate bool              `json:"conditionalCreate"`
	SearchParam       []capabilityParam `json:"searchParam"`
}

type codeOnly struct {
	Code string `json:"code"`
}

type capabilityParam struct {
	Name string `json:"name"`
	Type string `json:"type"`
}

// capabilities answers GET /metadata. It needs no token.
func (s *Server) capabilities(w http.ResponseWriter, r *http.Request) {
	types := baseTypes()
	for _, t := range s.store.Types() {
		if !slices.Contains(types, t) {
			types = append(types, t)
		}
	}
	slices.Sort(types)
	rest := capabilityRest{Mode: "server"}
	if s.opts.Auth != nil || s.opts.OAuthAuthorize != "" || s.opts.OAuthToken != "" {
		sec := &capabilitySecurity{Service: []codeableConcept{{
			Coding: []coding{{System: "http://terminology.hl7.org/CodeSystem/restful-security-service", Code: "SMART-on-FHIR"}},
			Text:   "OAuth2 using SMART-on-FHIR profile",
		}}}
		if s.opts.OAuthAuthorize != "" || s.opts.OAuthToken != "" {
			uris := extension{URL: "http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris"}
			if s.opts.OAuthAuthorize != "" {
				uris.Extension = append(uris.Extension, extension{URL: "authorize", ValueURI: s.opts.OAuthAuthorize})
			}
			if s.opts.OAuthToken != "" {
				uris.Extension = append(uris.Extension, extension{URL: "token", ValueURI: s.opts.OAuthToken})
			}
			sec.Extension = []extension{uris}
		}
		rest.Security = sec
	}
	for _, t := range types {
		cr := capabilityResource{
			Type:        t,
			Interaction: []codeOnly{{"read"}, {"vread"}, {"search-type"}},
			Versioning:  "versioned",
			ReadHistory: true,
		}
		if s.writableType(t) {
			cr.Interaction = append(cr.Interaction, codeOnly{"create"}, codeOnly{"update"})
			cr.Versioning = "versioned-update"
			cr.UpdateCreate = true
			cr.ConditionalCreate = true
		}
		for _, name := range searchParamsOf(t) {
			def, ok := lookupParam(t, name)
			if !ok {
				continue
			}
			cr.SearchParam = append(cr.SearchParam, capabilityParam{Name: name, Type: kindName(def.kind)})
		}
		rest.Resource = append(rest.Resource, cr)
	}
	cs := capabilityStatement{
		ResourceType:   "CapabilityStatement",
		Status:         "active",
		Date:           s.store.now().UTC().Format("2006-01-02"),
		Kind:           "instance",
		Software:       map[string]string{"name": "mbcplan sandbox FHIR server"},
		Implementation: map[string]string{"description": "In-memory FHIR R4 test server", "url": s.baseURL(r)},
		FHIRVersion:    "4.0.1",
		Format:         []string{"json", ContentType},
		Rest:           []capabilityRest{rest},
	}
	writeJSON(w, http.StatusOK, cs)
}
