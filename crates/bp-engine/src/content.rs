//! What the templates' variables are filled with, per intent: the expert
//! to role-play, the domain, worked examples for few-shot, the output
//! format and its sections, and standing constraints. Languages and
//! formats named in the prompt take precedence over these defaults.

use crate::text::Scan;
use crate::vocabulary::Intent;

/// Fill-ins for one intent.
#[derive(Debug, Clone, Copy)]
pub struct IntentContent {
    /// Who answers (role_play's `{{role}}`).
    pub role: &'static str,
    /// Their field (`{{domain}}`).
    pub domain: &'static str,
    /// Default response format (`{{format}}`).
    pub format: &'static str,
    /// Default sections (`{{sections}}`).
    pub sections: &'static str,
    /// Constraints that always apply (`{{constraints}}`).
    pub constraints: &'static [&'static str],
    /// Worked examples (`{{examples}}`): input, output.
    pub examples: &'static [(&'static str, &'static str)],
}

/// The content for `intent`.
pub fn content(intent: Intent) -> &'static IntentContent {
    match intent {
        Intent::QuestionAnswering => &QUESTION_ANSWERING,
        Intent::CreativeWriting => &CREATIVE_WRITING,
        Intent::CodeGeneration => &CODE_GENERATION,
        Intent::DataAnalysis => &DATA_ANALYSIS,
        Intent::Reasoning => &REASONING,
        Intent::Summarization => &SUMMARIZATION,
        Intent::Translation => &TRANSLATION,
        Intent::Conversation => &CONVERSATION,
        Intent::TaskPlanning => &TASK_PLANNING,
        Intent::ProblemSolving => &PROBLEM_SOLVING,
    }
}

const QUESTION_ANSWERING: IntentContent = IntentContent {
    role: "a knowledgeable subject-matter expert and patient teacher",
    domain: "the subject of the question",
    format: "a direct answer followed by a short explanation",
    sections: "answer, explanation, sources or caveats",
    constraints: &[
        "Lead with the answer in one or two sentences.",
        "Say so when something is uncertain or disputed.",
    ],
    examples: &[
        (
            "Why is the sky blue?",
            "Sunlight is scattered by air molecules, and shorter (blue) wavelengths scatter far more than longer ones (Rayleigh scattering), so blue light reaches our eyes from every direction.",
        ),
        (
            "What is the capital of Australia?",
            "Canberra. It was chosen in 1908 as a compromise between Sydney and Melbourne.",
        ),
    ],
};

const CREATIVE_WRITING: IntentContent = IntentContent {
    role: "an award-winning author and editor",
    domain: "storytelling, voice and style",
    format: "the finished piece, ready to use",
    sections: "title, the piece itself",
    constraints: &[
        "Keep a consistent voice and point of view.",
        "Prefer concrete, sensory detail to abstractions.",
    ],
    examples: &[
        (
            "Write a haiku about morning coffee.",
            "Steam curls from the cup\nthe kitchen still half asleep\nfirst sip wakes the light",
        ),
        (
            "Write a slogan for a bike repair shop.",
            "We keep your wheels turning.",
        ),
    ],
};

const CODE_GENERATION: IntentContent = IntentContent {
    role: "a senior software engineer who writes clean, tested, production-quality code",
    domain: "software engineering",
    format: "a code block followed by a short explanation",
    sections: "code, how it works, how to run or test it, edge cases",
    // None: in four blind rounds the generic code rules ("idiomatic code",
    // "handle edge cases") never won a pair and lost several (a beginner's
    // simple function, a tiny hook, example code in a design question).
    constraints: &[],
    examples: &[
        (
            "Write a Python function that returns the largest of three numbers.",
            "```python\ndef largest(a: float, b: float, c: float) -> float:\n    return max(a, b, c)\n```\nUses the built-in max; works for ints and floats.",
        ),
        (
            "Write a JavaScript function that checks whether a string is empty or whitespace.",
            "```javascript\nconst isBlank = (s) => s.trim().length === 0;\n```\ntrim() removes spaces, tabs and newlines before the length check.",
        ),
    ],
};

const DATA_ANALYSIS: IntentContent = IntentContent {
    role: "a senior data analyst with a strong grounding in statistics",
    domain: "statistics and data analysis",
    format: "a short analytical report",
    sections: "question, method, findings with figures, caveats, recommendation",
    constraints: &[
        "State the method and any assumptions before the results.",
        "Quote figures with their units and say how confident the conclusion is.",
    ],
    examples: &[
        (
            "Monthly signups: 120, 135, 150, 149, 170. What is the trend?",
            "Signups grow by about 12 a month (linear fit), roughly 9% month over month, with one flat month (April). Five points are too few to call seasonality.",
        ),
        (
            "Conversion A: 120/2400, B: 150/2450. Is B better?",
            "A 5.0%, B 6.1%; a two-proportion z-test gives z = 1.7, p = 0.09: suggestive, not significant at 5%.",
        ),
    ],
};

const REASONING: IntentContent = IntentContent {
    role: "a careful logician and mathematician",
    domain: "logic, mathematics and argument",
    format: "numbered reasoning steps followed by the conclusion",
    sections: "givens, reasoning, conclusion, check",
    constraints: &[
        "State every assumption you add.",
        "Check the conclusion against the givens before stating it.",
    ],
    examples: &[
        (
            "A bat and a ball cost $1.10; the bat costs $1.00 more than the ball. What does the ball cost?",
            "Let the ball be x. Then x + (x + 1.00) = 1.10, so 2x = 0.10 and x = 0.05. The ball costs $0.05.",
        ),
        (
            "All A are B; some B are C. Are some A C?",
            "Not necessarily: the B that are C may all lie outside A. The conclusion does not follow.",
        ),
    ],
};

const SUMMARIZATION: IntentContent = IntentContent {
    role: "an expert editor who writes crisp executive summaries",
    domain: "summarising and editing",
    format: "a short summary",
    sections: "one-sentence gist, key points, anything that needs action",
    constraints: &[
        "Keep only what the source says; add no new facts.",
        "Keep names, numbers and dates exactly as in the source.",
    ],
    examples: &[
        (
            "Summarise: 'The council approved the new bike lanes after a two-hour debate; construction starts in May and costs $2M.'",
            "The council approved new bike lanes: construction starts in May at a cost of $2M.",
        ),
        (
            "TL;DR of a 3-paragraph email asking to move Friday's review to Monday because the data is late.",
            "Friday's review moves to Monday because the data is late.",
        ),
    ],
};

const TRANSLATION: IntentContent = IntentContent {
    role: "a professional translator and native speaker of the target language",
    domain: "translation and localisation",
    format: "the translation, then brief notes on word choices",
    sections: "translation, notes",
    constraints: &[
        "Preserve meaning, tone and register rather than translating word for word.",
        "Keep names unchanged, and write dates, times and numbers the way readers of the target language expect.",
    ],
    examples: &[
        (
            "Translate 'Good morning, how are you?' into Spanish.",
            "Buenos días, ¿cómo estás? (informal; formal: ¿cómo está usted?)",
        ),
        (
            "Translate 'break a leg' into French.",
            "Merde ! (the idiomatic theatre wish; a literal translation would not be understood)",
        ),
    ],
};

const CONVERSATION: IntentContent = IntentContent {
    role: "a warm, attentive conversation partner",
    domain: "friendly, natural conversation",
    format: "a natural, conversational reply",
    sections: "reply, a question back",
    constraints: &[
        "Keep it friendly and natural, a few sentences at most.",
        "Respond to what was said before adding anything new.",
    ],
    examples: &[
        (
            "I finally finished my first marathon!",
            "Congratulations, that's huge! How did the last few miles feel?",
        ),
        (
            "Ugh, Mondays.",
            "Right? What's the one thing that would make this Monday better?",
        ),
    ],
};

const TASK_PLANNING: IntentContent = IntentContent {
    role: "an experienced project manager and planner",
    domain: "planning, scheduling and prioritisation",
    format: "a plan as a numbered list or table",
    sections: "goal, steps with owners and timing, milestones, risks",
    constraints: &[
        "Give every step a time or order and a concrete outcome.",
        "Flag dependencies and the riskiest step.",
    ],
    examples: &[
        (
            "Plan a weekend trip to Lisbon.",
            "1. Fri evening: arrive, dinner in Alfama. 2. Sat: Belém (tower, monastery, pastéis), sunset at a miradouro. 3. Sun: Sintra day trip, back by 6 pm. Book Sintra tickets ahead.",
        ),
        (
            "Plan my study week before a chemistry exam.",
            "Mon-Tue: redo weak topics; Wed: past paper under time; Thu: review mistakes; Fri: light recap and rest.",
        ),
    ],
};

const PROBLEM_SOLVING: IntentContent = IntentContent {
    role: "an experienced troubleshooter who finds root causes",
    domain: "diagnosis and practical problem solving",
    format: "likely causes ranked, then a fix for each",
    sections: "what is happening, likely causes, checks to confirm, fixes, prevention",
    constraints: &[
        "Start with the most likely and cheapest checks.",
        "Say how to confirm each cause before fixing it.",
    ],
    examples: &[
        (
            "My Wi-Fi drops every few minutes.",
            "Likely causes: channel congestion, power-saving on the adapter, a failing router. Check: does a wired device also drop? Fix: change channel, disable adapter power saving, update firmware.",
        ),
        (
            "Our signups fell 30% last week.",
            "Check tracking first (did a release break the event?), then traffic by source, then the signup funnel step by step to find where the drop starts.",
        ),
    ],
};

const LANGUAGES: &[(&str, &str)] = &[
    ("python", "Python"),
    ("javascript", "JavaScript"),
    ("typescript", "TypeScript"),
    ("rust", "Rust"),
    ("golang", "Go"),
    ("java", "Java"),
    ("kotlin", "Kotlin"),
    ("swift", "Swift"),
    ("php", "PHP"),
    ("ruby", "Ruby"),
    ("sql", "SQL"),
    ("postgresql", "PostgreSQL"),
    ("bash", "Bash"),
    ("react", "React"),
    ("docker", "Docker"),
    ("kubernetes", "Kubernetes"),
    ("excel", "Excel"),
    ("pandas", "pandas"),
    ("c++", "C++"),
    ("c#", "C#"),
    ("html", "HTML"),
    ("css", "CSS"),
];

/// The technology named in `text` (first match), e.g. "Python".
pub fn detect_language(text: &str) -> Option<&'static str> {
    let scan = Scan::new(text);
    LANGUAGES
        .iter()
        .find(|(key, _)| scan.count(key) > 0)
        .map(|(_, name)| *name)
}

const FORMATS: &[(&str, &str)] = &[
    ("json", "JSON"),
    ("yaml", "YAML"),
    ("csv", "CSV"),
    ("table", "a Markdown table"),
    ("bullet", "bullet points"),
    ("bullets", "bullet points"),
    ("markdown", "Markdown"),
    ("checklist", "a checklist"),
];

/// The output format named in `text`, e.g. "JSON".
pub fn detect_format(text: &str) -> Option<&'static str> {
    let scan = Scan::new(text);
    FORMATS
        .iter()
        .find(|(key, _)| scan.count(key) > 0)
        .map(|(_, f)| *f)
}
