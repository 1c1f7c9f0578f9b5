package recommend

// Lifestyle, trials and shared-decision items (L01–L06).

func thenL01(s *state) {
	text := "Stay active within tolerance: aim for at least 150 minutes a week of moderate activity plus muscle-strengthening on 2 days a week; avoid inactivity."
	if s.dis.bone && s.metastatic() {
		text += " Adapt exercise to the bone metastases (fracture risk)."
	}
	s.item(&s.out.lifestyle, Item{ID: "L01-activity", Kind: "lifestyle", Rules: []string{"L01"}, Text: text})
}

func thenL02(s *state) {
	s.item(&s.out.lifestyle, Item{ID: "L02-diet", Kind: "lifestyle", Rules: []string{"L02"},
		Text: "Aim for a healthy weight; eat mostly vegetables, fruit and whole grains; limit red and processed meat."})
}

func thenL03(s *state) {
	s.item(&s.out.lifestyle, Item{ID: "L03-alcohol", Kind: "lifestyle", Rules: []string{"L03"},
		Text: "Limit alcohol (at most 1 drink a day for women); avoiding it is safest."})
}

func thenL04(s *state) {
	s.item(&s.out.lifestyle, Item{ID: "L04-yoga", Kind: "lifestyle", Rules: []string{"L04"},
		Text: "Yoga may help anxiety, depression and quality of life; mind-body practices are supportive care and never replace therapy."})
}

func thenL05(s *state) {
	s.item(&s.out.trials, Item{ID: "L05-trials", Kind: "trial", Rules: []string{"L05"},
		Text: "Screen for clinical trials at this line (the record's mCODE data can be handed to a trial-matching service)."})
}

func thenL06(s *state) {
	s.item(&s.out.shared, Item{ID: "L06-shared", Kind: "shared-decision", Rules: []string{"L06"},
		Text: "Discuss the options with the patient: expected benefit, main toxicities, schedule and burden, and choose together."})
	if s.anyOption(classCDK46) {
		s.item(&s.out.shared, Item{ID: "L06-cdk46", Kind: "shared-decision", Rules: []string{"L06", "H06"},
			Text: "CDK4/6 inhibitors: no head-to-head data between palbociclib, ribociclib and abemaciclib; toxicities differ (QT and liver with ribociclib, diarrhoea with abemaciclib, neutropenia with palbociclib). SONIA: deferring the CDK4/6 inhibitor to the second line gave similar overall survival with less toxicity; mention this option."})
	}
	if s.anyDrug("capivasertib") && s.anyDrug("alpelisib") {
		s.item(&s.out.shared, Item{ID: "L06-pi3k", Kind: "shared-decision", Rules: []string{"L06", "H09"},
			Text: "Capivasertib versus alpelisib: no head-to-head data; choose by toxicity (hyperglycaemia is far more frequent with alpelisib)."})
	}
	if s.optionExists("H14-tdxd") {
		s.item(&s.out.shared, Item{ID: "L06-tdxd-db06", Kind: "shared-decision", Rules: []string{"L06", "H14", "H13"},
			Text: "Trastuzumab deruxtecan before chemotherapy follows DESTINY-Breast06 and the FDA indication; ASCO 2022 recommends it after ≥1 chemotherapy. Both positions are shown."})
	}
}
