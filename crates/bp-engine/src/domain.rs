//! The expert a prompt's subject calls for, read from its words, not from
//! the intent alone: an invitation letter calls for an event planner, a
//! blog post about Hawaii for a travel writer, a Rust borrow-checker error
//! for a senior Rust developer. When nothing fits, there is no role, and
//! the composer adds none.

use crate::slots::Format;

/// A role and the words that call for it. Each entry needs one word of
/// `topic`; `with` (when not empty) needs one of its words too, so that
/// "blog post" alone is not travel writing.
struct Entry {
    role: &'static str,
    topic: &'static [&'static str],
    with: &'static [&'static str],
    /// Phrases in which a topic word means something else ("credit
    /// history" is a record, not the past).
    unless: &'static [&'static str],
}

const ROLES: &[Entry] = &[
    Entry {
        role: "an experienced event planner who writes clear, warm invitations",
        unless: &[],
        topic: &[
            "invitation",
            "invitations",
            "invite",
            "rsvp",
            "invitation letter",
            "wedding invitation",
            "party invitation",
        ],
        with: &[],
    },
    Entry {
        role: "a travel writer who knows the destination well",
        unless: &[],
        topic: &["blog", "article", "guide", "post", "newsletter"],
        with: &[
            "travel",
            "trip",
            "hawaii",
            "island",
            "beach",
            "destination",
            "city",
            "itinerary",
            "vacation",
            "holiday",
        ],
    },
    Entry {
        role: "an experienced travel planner",
        unless: &[],
        topic: &[
            "itinerary",
            "trip",
            "vacation",
            "holiday",
            // Not "road trip": as a phrase it named the subject alone, and
            // "a road trip to my parents' twice a year" in a question about
            // a car repair is no trip to plan.
            "backpacking",
        ],
        with: &[],
    },
    Entry {
        role: "an experienced recruiter and career coach",
        unless: &[],
        topic: &[
            "cover letter",
            "resume",
            "cv",
            "job interview",
            "interview questions",
            "linkedin",
            "job application",
            "salary negotiation",
        ],
        with: &[],
    },
    // Before the chef: a meal plan for a health condition or a nutrition
    // goal is a dietitian's, even with "meals" and "cook" in it; a family's
    // week of dinners, or meals for a reunion, stays the cook's. (A topic
    // word is no companion of itself: "protein" in a food drive's
    // donations asks for no dietitian.)
    Entry {
        role: "a registered dietitian",
        unless: &[],
        topic: &["meal plan", "diet", "calories", "protein", "nutrition", "macros"],
        with: &[
            "diabetes",
            "diabetic",
            "prediabetes",
            "blood pressure",
            "cholesterol",
            "lose weight",
            "weight loss",
            "fiber",
            "carbs",
            "vitamins",
            "nutrients",
            "dairy free",
            "gluten free",
        ],
    },
    Entry {
        role: "a professional chef",
        unless: &[],
        topic: &[
            "recipe", "recipes", "cook", "cooking", "bake", "baking", "dinner", "meal", "meals", "dish",
            "sauce",
        ],
        with: &[],
    },
    Entry {
        role: "a certified personal trainer",
        unless: &[],
        topic: &[
            "workout",
            "workouts",
            "gym",
            "training plan",
            "exercise",
            "exercises",
            "marathon",
            "5k",
            "strength training",
        ],
        with: &[],
    },
    Entry {
        role: "a senior copywriter",
        unless: &[],
        topic: &[
            "slogan",
            "tagline",
            "ad copy",
            "advert",
            "product description",
            "marketing",
            // Copy for a landing page; a page in a launch plan, an A/B test
            // or a funnel is no copywriter's.
            "landing page copy",
            "copy for my landing page",
            "campaign",
            "brand",
        ],
        with: &[],
    },
    Entry {
        role: "a lawyer who explains things in plain language",
        unless: &[],
        topic: &[
            "lease",
            "contract",
            "tenant",
            "landlord",
            "lawsuit",
            "legal",
            "sue",
            "court",
            "copyright",
            "trademark",
            "gdpr",
        ],
        // A landlord planning a repaint, a court case in a trivia question
        // or an ethics argument asks no legal question of the user's: the
        // role needs words of the user's own rights beside the topic.
        with: &[
            "my rights",
            "am i allowed to",
            "are we allowed to",
            "is he allowed to",
            "is she allowed to",
            "are they allowed to",
            "legally allowed",
            "sue",
            "small claims",
            "evict",
            "eviction",
            "deposit",
            "clause",
            "liable",
            "lawsuit",
            "legal advice",
        ],
    },
    Entry {
        role: "a physician who explains things in plain language",
        unless: &[],
        topic: &[
            "symptom",
            "symptoms",
            "diagnosis",
            "medication",
            "dose",
            "doctor",
            "fever",
            "rash",
            "blood pressure",
            "cholesterol",
        ],
        with: &[],
    },
    Entry {
        role: "a certified financial planner",
        unless: &[],
        topic: &[
            "budget",
            "budgeting",
            "invest",
            "investing",
            "retirement",
            "mortgage",
            "savings",
            "debt",
            "401k",
            "ira",
            "stocks",
            "etf",
        ],
        with: &[],
    },
    Entry {
        role: "a tax adviser",
        unless: &[],
        topic: &["tax", "taxes", "deduction", "deductions", "vat", "irs"],
        with: &[],
    },
    Entry {
        role: "an experienced gardener",
        unless: &[],
        topic: &[
            "garden",
            "gardening",
            "plant",
            "plants",
            "tomatoes",
            "soil",
            "compost",
            "lawn",
            "seedlings",
        ],
        with: &[],
    },
    Entry {
        role: "an experienced car mechanic",
        unless: &[],
        topic: &[
            "car",
            "engine",
            "brakes",
            "tyre",
            "tire",
            "transmission",
            "check engine",
            "battery light",
        ],
        // A fault of the car, not a car in passing ("carpool problem",
        // "renew car registration ... where to start").
        with: &[
            "noise",
            "light came on",
            "warning light",
            "dashboard light",
            "pressure light",
            "wont start",
            "leak",
            "leaking",
            "broken",
            "grinding",
            "squeak",
            "squealing",
            "overheating",
            "stalls",
            "smell",
            "smoke",
            "vibration",
            "engine light",
            "shudder",
            "shuddering",
            "judder",
            "rattle",
            "rattling",
            "misfire",
            "clunk",
        ],
    },
    Entry {
        role: "a data analyst",
        unless: &[],
        topic: &[
            "dataset",
            "data set",
            "survey results",
            "regression",
            "correlation",
            "pivot table",
            "statistics",
            "statistical",
            "p value",
            "standard deviation",
            "dashboard",
            "kpi",
            "metrics",
        ],
        with: &[],
    },
    Entry {
        role: "a database engineer",
        unless: &[],
        topic: &[
            "sql",
            "query",
            "postgres",
            "postgresql",
            "mysql",
            "database",
            "index",
            "schema",
        ],
        with: &[],
    },
    Entry {
        role: "a mathematician and patient tutor",
        unless: &[],
        topic: &[
            "prove",
            "proof",
            "theorem",
            "equation",
            "integral",
            "derivative",
            "probability",
            "algebra",
            "geometry",
        ],
        with: &[],
    },
    Entry {
        role: "a children's author",
        unless: &[],
        topic: &[
            "bedtime story",
            // For a child of theirs, not "a story for my creative writing
            // class".
            "story for my son",
            "story for my daughter",
            "story for my kid",
            "story for my kids",
            "story for my child",
            "story for my children",
            "story for my grandson",
            "story for my granddaughter",
            "story for my grandkids",
            "story for my nephew",
            "story for my nephews",
            "story for my niece",
            "story for my nieces",
            "story for my sons",
            "story for my daughters",
            "kids story",
            "children s story",
            "childrens story",
        ],
        // "for my son" names the audience of a piece of writing, not of a
        // birthday party.
        with: &["story", "stories", "book", "poem", "rhyme", "song", "tale"],
    },
    Entry {
        role: "a poet",
        unless: &[],
        topic: &["poem", "poems", "sonnet", "verse", "limerick"],
        with: &[],
    },
    Entry {
        role: "a songwriter",
        unless: &[],
        topic: &["song", "lyrics", "rap", "chorus"],
        with: &[],
    },
    Entry {
        role: "a speechwriter",
        unless: &[],
        topic: &["speech", "toast", "eulogy", "keynote"],
        with: &[],
    },
    Entry {
        role: "an academic writing tutor",
        unless: &[],
        topic: &[
            "essay",
            "thesis",
            "dissertation",
            "literature review",
            "research paper",
            "abstract",
        ],
        with: &[],
    },
    Entry {
        role: "a historian",
        unless: RECORDS,
        topic: &[
            "history",
            "historical",
            "century",
            "empire",
            "world war",
            "civil war",
            "cold war",
            "revolution",
            "dynasty",
        ],
        with: &["explain", "why", "how", "what", "causes", "essay", "compare"],
    },
    Entry {
        role: "a professional translator",
        unless: &[],
        topic: &["translate", "translation"],
        with: &[],
    },
    Entry {
        role: "an experienced project manager",
        unless: &[],
        topic: &[
            "project plan",
            "milestones",
            "sprint",
            "stakeholders",
            "launch plan",
        ],
        with: &[],
    },
    Entry {
        role: "an experienced teacher",
        unless: &[],
        topic: &[
            "lesson plan",
            "lesson",
            "curriculum",
            "worksheet",
            "quiz for my class",
            "my students",
        ],
        with: &[],
    },
];

/// Programming languages and the developer they call for.
const DEVELOPERS: &[(&str, &str)] = &[
    ("python", "a senior Python developer"),
    ("pandas", "a senior Python developer"),
    ("javascript", "a senior JavaScript developer"),
    ("typescript", "a senior TypeScript developer"),
    ("react", "a senior front-end developer"),
    ("rust", "a senior Rust developer"),
    ("golang", "a senior Go developer"),
    ("java", "a senior Java developer"),
    ("kotlin", "a senior Kotlin developer"),
    ("swift", "a senior iOS developer"),
    ("c#", "a senior C# developer"),
    ("c++", "a senior C++ developer"),
    ("php", "a senior PHP developer"),
    ("ruby", "a senior Ruby developer"),
    ("bash", "an experienced Linux administrator"),
    ("powershell", "an experienced Windows administrator"),
    ("docker", "a DevOps engineer"),
    ("kubernetes", "a DevOps engineer"),
    ("excel", "an Excel expert"),
    ("vba", "an Excel and VBA expert"),
    ("regex", "a developer who writes precise regular expressions"),
];

/// The roles of [`ROLES`] that may answer a task about code.
const TECHNICAL: &[&str] = &["a data analyst", "a database engineer"];

/// Roles that fit making a show, whatever it is about.
const SHOW_MAKERS: &[&str] = &["an experienced project manager", "a senior copywriter"];

/// The roles a poem or a song may get: its subject ("roses and tomatoes"
/// for a gardening grandmother) is no gardener's job.
const WRITERS: &[&str] = &["a children's author", "a poet", "a songwriter", "a speechwriter"];

/// Whether `role` is a writer's ([`WRITERS`]): fit for the piece of
/// writing in a request, not for the other asks beside it.
pub(crate) fn is_writer(role: &str) -> bool {
    WRITERS.contains(&role)
}

/// A "history" that is a record of someone's own, not the past.
const RECORDS: &[&str] = &[
    "credit history",
    "medical history",
    "browser history",
    "browsing history",
    "search history",
    "purchase history",
    "order history",
    "payment history",
    "rental history",
    "work history",
    "employment history",
    "transaction history",
    "call history",
    "chat history",
    "watch history",
    "viewing history",
    "version history",
    "git history",
    "commit history",
    "family history",
];

/// The shell expert for a Mac.
const MAC_SHELL: &str = "an experienced macOS shell scripter";

/// Phrases that ask where an argument's logic fails ("break down the
/// logical gaps in that argument", "is this a fallacy").
const CRITIQUE: &[&str] = &[
    "fallacy",
    "fallacies",
    "this argument",
    "that argument",
    "his argument",
    "her argument",
    "their argument",
    "an argument going",
    "logic is",
    "logical gap",
    "logical gaps",
    "logical flaw",
    "logical flaws",
    "this reasoning",
    "his reasoning",
    "her reasoning",
    "their reasoning",
    "dont follow",
    "doesnt follow",
    "flaw",
    "flaws",
    "flawed",
    "debunk",
    "good argument",
    "valid argument",
    "sound argument",
    "bad argument",
    "weak argument",
    "argument hold up",
    "argument holds up",
    "reasoning hold up",
    "reasoning holds up",
    // A claim someone keeps making, to check: "is it true?"
    "is it true",
    "is that true",
    "is this true",
    "keeps insisting",
    "keeps claiming",
];

/// Whether the prompt asks where an argument's logic fails. That is a
/// logician's question, not the topic's: a tax adviser on a critique of a
/// sugar-tax argument pulls toward the policy verdict the user set aside,
/// and "state every assumption" is for a puzzle, not for someone else's
/// argument.
pub(crate) fn critiques_an_argument(lower: &crate::slots::Lower) -> bool {
    lower.has_any(CRITIQUE)
}

/// The role `text` calls for, if any. `code` says whether the task is
/// about code (programming languages only count then).
pub fn role_for(text: &str, code: bool, format: Option<&Format>) -> Option<&'static str> {
    let lower = crate::slots::Lower::new(text);
    let has = |w: &str| lower.has(w);
    // "I know you're not a lawyer": the user has said who the model is not.
    if lower.has_any(&[
        "youre not a",
        "you are not a",
        "youre no",
        "not a lawyer",
        "not a doctor",
    ]) || !code && critiques_an_argument(&lower)
    {
        return None;
    }
    if code {
        // A shell script for a Mac is not a Linux administrator's (BSD
        // tools, bash 3.2).
        let mac = lower.has_any(&["macos", "mac os", "osx", "os x", "mac", "macbook", "zsh"]);
        if let Some(Format::Code(Some(lang))) = format
            && let Some((_, role)) = DEVELOPERS.iter().find(|(k, _)| k.eq_ignore_ascii_case(lang))
        {
            return Some(if mac && lang.eq_ignore_ascii_case("bash") {
                MAC_SHELL
            } else {
                role
            });
        }
        // Two languages ("I know Python and want to learn Rust"): which one
        // the answer is in is not certain, so no language's expert. A tool
        // named with its language is one subject (Excel and VBA, JavaScript
        // and React, Python and a regex).
        let named: Vec<&(&str, &str)> = DEVELOPERS.iter().filter(|(k, _)| has(k)).collect();
        let within = |k: &str| match k {
            "regex" => named.len() > 1,
            // A pandas traceback that mentions Excel is a Python question.
            // "This is Google Sheets, not Excel": the sheet's own expert.
            "excel" => has("vba") || has("pandas") || has("traceback") || has("google sheets"),
            "javascript" | "typescript" => has("react"),
            _ => false,
        };
        let mut roles: Vec<&'static str> = named
            .iter()
            .filter(|(k, _)| !within(k))
            .map(|(_, r)| *r)
            .collect();
        roles.dedup();
        if let [role] = roles[..] {
            return Some(role);
        }
    }
    // Grades to work out ("A- in history, C in calc, what's my GPA?") name
    // school subjects, not a subject's expert.
    if lower.has_any(&[
        "gpa",
        "grade point",
        "credits",
        "credit hours",
        "transcript",
        "report card",
    ]) {
        return None;
    }
    // A show the user makes (a podcast about local history, a channel
    // about cooking) asks how to make the show: its topic's expert does
    // not fit, a planner or a copywriter may. One they listen to does not
    // count ("for a history podcast I listen to").
    let makes_a_show = lower.has_any(&[
        "our podcast",
        "my podcast",
        "start a podcast",
        "started a podcast",
        "starting a podcast",
        "my channel",
        "our channel",
        "youtube channel",
        "our episodes",
        "my episodes",
        "my newsletter",
        "our newsletter",
        "my blog",
        "our blog",
    ]);
    // The subject must be the prompt's, not a word in passing: two topic
    // words, or one phrase of several words, or one topic word with one of
    // its companions. Code is a developer's job whatever it is about: a
    // query over a bakery's sales wants no chef.
    let verse = lower.has_any(&["poem", "poems", "sonnet", "limerick", "haiku", "lyrics", "song"]);
    ROLES
        .iter()
        .filter(|e| !code || TECHNICAL.contains(&e.role))
        .filter(|e| !verse || WRITERS.contains(&e.role))
        .filter(|e| code || !makes_a_show || SHOW_MAKERS.contains(&e.role))
        .filter(|e| !lower.has_any(e.unless))
        .find(|e| {
            let hits = e.topic.iter().filter(|w| has(w)).count();
            let phrase = e.topic.iter().any(|w| w.contains(' ') && has(w));
            let companion = !e.with.is_empty() && e.with.iter().any(|w| has(w));
            (hits >= 2 || phrase || (hits == 1 && companion)) && (e.with.is_empty() || companion)
        })
        .map(|e| e.role)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_credit_history_gets_no_historian() {
        let credit = "I just moved to Canada and have no credit history here. How does a credit score work, and what's the fastest way to build one?";
        assert_ne!(role_for(credit, false, None), Some("a historian"));
        let past = "Explain why the Roman Empire fell, in the history of Europe";
        assert_eq!(role_for(past, false, None), Some("a historian"));
    }

    #[test]
    fn a_one_liner_for_a_mac_gets_no_linux_administrator() {
        let mac = "bash one liner to find all files over 500mb in my home folder sorted biggest first. im on a mac not linux";
        assert_ne!(
            role_for(mac, true, Some(&Format::Code(Some("Bash")))),
            Some("an experienced Linux administrator")
        );
    }

    #[test]
    fn a_car_in_passing_or_code_about_a_bakery_gets_no_topic_expert() {
        let carpool = "ok so carpool problem, 5 parents and we each drive one day. raj only has the big car so he does wednesday. is there even a way to make this work";
        assert_eq!(role_for(carpool, false, None), None);
        let fault = "my tire pressure light came on this morning but all 4 tires look fine, should i worry";
        assert_eq!(role_for(fault, false, None), Some("an experienced car mechanic"));
        let sql = "I help my aunt run a bakery; she bakes too much bread. Write a SQLite query over products and sales for the lowest daily sales per location.";
        assert_ne!(role_for(sql, true, None), Some("a professional chef"));
    }

    #[test]
    fn a_gpa_with_history_in_it_gets_no_historian() {
        let gpa = "how do u calculate gpa when some classes r 4 credits and some r 3. i got A in bio, B+ in english, A- in history and a C in calc";
        assert_eq!(role_for(gpa, false, None), None);
    }

    #[test]
    fn a_podcast_about_history_gets_no_historian_but_one_listened_to_does() {
        let pod = "Me and my friend started a podcast about weird local history in our town (about 15 episodes in). Episodes run 80-90 mins and people drop off at minute 25. How should we restructure?";
        assert_eq!(role_for(pod, false, None), None);
        let walls = "I've been reading about the fall of Constantinople for a history podcast I listen to, and they keep mentioning the Theodosian Walls. What made those walls so hard to break for so many centuries?";
        assert_eq!(role_for(walls, false, None), Some("a historian"));
    }

    #[test]
    fn a_sheet_in_google_sheets_and_a_trip_in_passing_get_no_wrong_expert() {
        let sheets = "I have dates in column A and sale amounts in column B. What formula gives the monthly totals? This is Google Sheets not Excel if that matters";
        assert_eq!(
            role_for(sheets, true, None),
            None,
            "no Excel expert on Google Sheets"
        );
        let civic = "My 2014 Civic's transmission is starting to slip; the rebuild is $3,400. I do a 25 minute commute plus a road trip to my parents' twice a year. Fix it, buy used or lease?";
        assert_ne!(
            role_for(civic, false, None),
            Some("an experienced travel planner")
        );
        assert_eq!(
            role_for("Plan a vacation itinerary for Lisbon with two kids", false, None),
            Some("an experienced travel planner")
        );
    }

    #[test]
    fn a_story_for_a_class_gets_no_childrens_author_but_one_for_a_child_does() {
        let class = "I'm writing a fantasy story for my creative writing class about a girl who keeps a sky lighthouse. Write the opening paragraph.";
        assert_ne!(role_for(class, false, None), Some("a children's author"));
        let child = "Write a short story for my daughter about a girl who keeps a sky lighthouse.";
        assert_eq!(role_for(child, false, None), Some("a children's author"));
    }

    #[test]
    fn a_landing_page_in_a_plan_or_a_funnel_gets_no_copywriter() {
        let plan = "We launch on 2 September. Still to do: billing, docs, a demo video, set up a landing page. Tom does sales and marketing. Lay out a week-by-week plan.";
        assert_eq!(role_for(plan, false, None), None);
        let funnel =
            "Here's our funnel, where is the biggest drop-off?\nLanding page: 10,000\nSign-up started: 2,400";
        assert_ne!(role_for(funnel, false, None), Some("a senior copywriter"));
    }

    #[test]
    fn a_poem_about_a_gardener_gets_no_gardener() {
        let poem =
            "write me a poem for my grandmas 90th birthday shes super into gardening esp roses and tomatoes";
        assert_ne!(role_for(poem, false, None), Some("an experienced gardener"));
    }

    #[test]
    fn a_critique_of_an_argument_gets_no_expert_on_its_topic() {
        let debate = "One student's argument is: 'Sugar taxes reduced soda sales in Mexico, so sugar taxes reduce obesity.' Don't tell me whether sugar taxes work. Instead, break down the logical gaps in that argument.";
        assert_eq!(role_for(debate, false, None), None);
        assert_eq!(
            role_for(
                "How do sugar taxes and VAT differ for a small shop's taxes?",
                false,
                None
            ),
            Some("a tax adviser")
        );
    }

    #[test]
    fn two_languages_get_no_language_expert_and_a_tool_goes_with_its_language() {
        assert_eq!(
            role_for(
                "I know Python well and want to learn Rust with a small CLI project",
                true,
                None
            ),
            None
        );
        assert_eq!(
            role_for("write an excel vba macro that deletes empty rows", true, None),
            Some("an Excel and VBA expert")
        );
        assert_eq!(
            role_for("python regex to match an email address", true, None),
            Some("a senior Python developer")
        );
    }

    #[test]
    fn a_shell_script_for_a_mac_is_not_a_linux_administrators() {
        let bash = Format::Code(Some("Bash"));
        assert_eq!(
            role_for(
                "bash script that must run on stock macOS, bash 3.2",
                true,
                Some(&bash)
            ),
            Some(MAC_SHELL)
        );
        assert_eq!(
            role_for(
                "bash script to rotate nginx logs on our Ubuntu servers",
                true,
                Some(&bash)
            ),
            Some("an experienced Linux administrator")
        );
    }

    #[test]
    fn roles_follow_the_subject_and_none_is_given_when_nothing_fits() {
        assert_eq!(
            role_for(
                "Name three important elements in an invitation letter.",
                false,
                None
            ),
            Some("an experienced event planner who writes clear, warm invitations")
        );
        assert_eq!(
            role_for("Write a blog post about a recent trip to Hawaii", false, None),
            Some("a travel writer who knows the destination well")
        );
        assert_eq!(
            role_for("my python script crashes with KeyError", true, None),
            Some("a senior Python developer")
        );
        assert_eq!(
            role_for("python is my favourite snake", false, None),
            None,
            "a language counts for code only"
        );
        assert_eq!(
            role_for("Tell us an interesting fact about Mount Everest", false, None),
            None
        );
        assert_eq!(role_for("write a blog post about my cat", false, None), None);
    }

    #[test]
    fn a_lawyer_only_for_a_question_of_law() {
        assert_eq!(
            role_for(
                "I'm a landlord; my tenant moves out on the 1st and the new one moves in on the 11th. \
                 Give me a day-by-day plan to repaint and clean.",
                false,
                None
            ),
            None
        );
        assert_eq!(
            role_for("can my landlord keep my deposit for normal wear?", false, None),
            Some("a lawyer who explains things in plain language")
        );
    }

    #[test]
    fn a_song_inspired_card_is_no_legal_question() {
        assert_ne!(
            role_for(
                "Write my daughter a birthday letter inspired by song lyrics without copying any (I know \
                 that's a copyright thing). She's allowed to make mistakes.",
                false,
                None
            ),
            Some("a lawyer who explains things in plain language")
        );
    }

    #[test]
    fn a_pandas_traceback_that_mentions_excel_is_a_python_question() {
        assert_eq!(
            role_for(
                "Traceback (most recent call last):\n  totals = df.groupby('Client')['Amount'].sum()\n\
                 KeyError: 'Amount'\n\nthe csv has an Amount column, i opened it in excel. pandas 2.1",
                true,
                None
            ),
            Some("a senior Python developer")
        );
    }
}
