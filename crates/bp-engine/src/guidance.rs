//! Genre guidance: what a good answer to this kind of deliverable contains,
//! in one line, for the genres a prompt names outright (a cover letter, an
//! email, a comparison, a recipe, a speech, a fault to find...).
//!
//! Why: the blind reviews found the restrained engine did little harm but
//! added little either; what reviewers counted as useful was guidance
//! specific to the task (the order of troubleshooting checks, the parts of
//! a speech), never generic advice. Each line here states the parts a
//! strong answer of that genre has, which a plain prompt leaves to chance.
//!
//! Restraint rules, the same as the composer's:
//! - one line at most, the first genre that matches, and none at the
//!   `light` level, for a terse request, a fact lookup or a short creative
//!   piece, a role-play or a conversation;
//! - a structural line (one that shapes the output) never goes with a
//!   format the user set;
//! - no line carries a length, so it can never contradict a limit;
//! - a genre is recognised only by the words that name it, and some only
//!   for the intents they belong to.

use crate::input::Level;
use crate::slots::{Lower, Slots, TaskKind};
use crate::vocabulary::Intent;

/// One genre: the phrases that name it, the intents it belongs to (empty:
/// any), and its line.
struct Genre {
    /// Phrases (whole words, lowercased, apostrophes dropped) that name it.
    names: &'static [&'static str],
    /// Intents it applies to; empty for any.
    intents: &'static [Intent],
    /// Whether the line shapes the output (left out when the user set a format).
    structural: bool,
    /// Whether it applies to a short question too (a comparison or a "why"
    /// is a short question that still wants an explanation).
    questions: bool,
    /// Phrases that rule it out ("how do I" is a how-to, not an explanation).
    unless: &'static [&'static str],
    /// Whether it applies only to a short prompt (at most 40 words): "how
    /// do I" in a long story of a situation asks for advice, not a procedure.
    short: bool,
    /// Whether one of its names must open the prompt (within 8 words).
    opening: bool,
    /// Whether it needs supplied material (a fix needs the code to fix).
    material: bool,
    /// Whether the line frames one answer to one question (a decision, a
    /// worry): not for a list of the user's own questions, each of which
    /// wants its own answer.
    whole: bool,
    /// Feedback on supplied prose: it also applies to a short request over
    /// the text (read as a rewrite of it) and to one the classifier took for
    /// a chat ("what do you think of this paragraph? be honest"), never to
    /// code.
    feedback: bool,
    /// The guidance, in the user's voice.
    line: &'static str,
}

use Intent::{
    CodeGeneration, Conversation, CreativeWriting, DataAnalysis, ProblemSolving, QuestionAnswering,
    Reasoning, Summarization, TaskPlanning, Translation,
};

/// Words of a choice being weighed, which name the decision genre without
/// "should I" and rule out a plan's line.
const WEIGHING: &[&str] = &[
    "going back and forth",
    "two offers",
    "both offers",
    "help me think through",
    "help me think this through",
];

/// What rules out a comparison: figures to test for significance ("2.1%
/// vs 2.4%, significant?"), or maybe one thing under two names ("or is
/// there none").
const NOT_TWO_THINGS: &[&str] = &[
    // "Affect vs effect, quick, which one is the noun": one fact asked.
    "which one is the",
    // "The series tests (ratio, root, comparison)": a test's name.
    "comparison test",
    "comparison tests",
    "comparison etc",
    // "What do I actually need vs what's a scam": a list to sort, not two
    // things to compare.
    "actually need",
    "a scam",
    // A way to tell two words apart ("affect vs effect, is there a trick
    // to remember which is the verb?") asks for the trick, not a table.
    "trick to remember",
    "trick for remembering",
    "how to remember",
    "how do i remember",
    "remember which",
    "mnemonic",
    "significant",
    "significance",
    "p value",
    "is there none",
    "or is there any",
    "is there even",
    "the same thing",
    "or are they the same",
    // A cost calculation ("payback vs just replacing the boiler") is worked
    // through, not compared point by point.
    "payback",
    "break even",
    "pays for itself",
    "pay for itself",
    // Two things explained to a child are told with an example, not
    // broken down point by point.
    "year old",
    "years old",
    "eli5",
    "like im five",
    "like im 5",
    "to a kid",
    "for a kid",
    "for kids",
    "kids around",
    // An answer said out loud in a minute is one explanation, not a table
    // of differences.
    "say out loud",
    "said out loud",
    "read out loud",
    "aloud",
];

/// A genre with every option off: a literal names only what differs.
const PLAIN: Genre = Genre {
    names: &[],
    intents: &[],
    structural: false,
    questions: false,
    unless: &[],
    short: false,
    opening: false,
    material: false,
    whole: false,
    feedback: false,
    line: "",
};

/// Most specific first: the first match is the one used.
const GENRES: &[Genre] = &[
    Genre {
        names: &[
            "critique my argument",
            "critique this argument",
            "critique the argument",
            "is my argument",
            "does my argument",
            "is this argument",
            "does this argument",
            "holes in my argument",
            "holes in this argument",
            "poke holes",
            "flaws in my argument",
            "flaws in this argument",
            "flaws in the argument",
            "flaws in my reasoning",
            "strongest objections",
            "logical fallacies",
            "any fallacies",
            "a good argument",
            "a valid argument",
            "a sound argument",
            "argument hold up",
            "argument holds up",
            "reasoning hold up",
            "reasoning holds up",
        ],
        intents: &[Reasoning, QuestionAnswering, ProblemSolving, CreativeWriting],
        questions: true,
        line: "Take each claim in turn: say what it assumes, whether it follows, and the strongest objection to it, then what would make the argument hold up.",
        ..PLAIN
    },
    Genre {
        // A claim heard somewhere, to check; before the explanation genre
        // ("is it true that ... and why?").
        names: &[
            "is it true",
            "is that true",
            "is this true",
            "any truth",
            "a myth",
            "myth that",
            "true or false",
            "keeps insisting",
            "keeps claiming",
            "actually true",
        ],
        intents: &[QuestionAnswering, Reasoning, ProblemSolving],
        // A claim asked in passing beside the real problem ("my neighbour
        // says coffee grounds fix everything, is that true? anyway what do
        // I actually do about the yellow leaves"): the problem leads.
        unless: &[
            "what do i do",
            "what do i actually do",
            "what should i do",
            "what should i actually do",
        ],
        // A bare fact ("is it true octopuses have three hearts?") has no
        // belief behind it to trace.
        line: "Say plainly whether it is true and what the evidence actually shows, and, if it is a common belief, where it comes from.",
        ..PLAIN
    },
    Genre {
        // A method to choose before there are results: one recommendation
        // with its reasons and its checks, not a survey of every test.
        names: &[
            "what statistical approach",
            "which statistical approach",
            "what statistical test",
            "which statistical test",
            "what statistical method",
            "which statistical method",
            "which test should i use",
            "what test should i use",
            "which test do i use",
            "what test do i use",
            "what analysis should i",
            "which analysis should i",
            "approach would you recommend",
            "method would you recommend",
            "test would you recommend",
        ],
        intents: &[DataAnalysis, QuestionAnswering, ProblemSolving, Reasoning],
        questions: true,
        line: "Recommend one approach and say why it suits this data, what it assumes, and how to check that it holds.",
        ..PLAIN
    },
    Genre {
        // Before the genres of writing: feedback on a blog post's opening
        // is no blog post to write.
        names: &[
            "feedback",
            "critique",
            "what do you think of",
            "what do you think about",
            "honest opinion",
            "review my",
            "tear it apart",
            "how does this sound",
            "how does it sound",
            "does this work",
            "does it work",
            "is this any good",
            "is it any good",
            "is this good",
            "is it good",
            "thoughts",
            "your thoughts",
            "what would you change",
            "what should i change",
            "what would you improve",
            "how can i improve",
            "how could i improve",
            "how do i improve",
            "too generic",
            "too blunt",
            "too formal",
            "too casual",
            "too stiff",
            "too much",
            "does this sound",
            "does it sound",
            "how does this read",
            "how does it read",
            "come across",
            "comes across",
            "am i missing",
            "or is it flat",
            "or are they flat",
            "fall flat",
            "falls flat",
            "check this",
            "check my",
            "look over",
            "look this over",
            "read over",
            "ending works",
            "if it works",
            "whether it works",
            "weak or missing",
            "whats weak",
            "what is weak",
            "whats missing",
            "what is missing",
        ],
        // A new version asked for, not an opinion on this one.
        // ("I don't want it rewritten" is still feedback.)
        unless: &[
            "rewrite it",
            "rewrite this",
            "rewrite my",
            "rewrite the",
            "a rewrite",
            "suggested rewrite",
            "rewritten version",
            // "Can you make this email sound more professional?"
            "make this",
            "sound more",
            // Something new to write ("can you write it for me?"), not what
            // they were made to write before.
            "can you write",
            "could you write",
            "please write",
            "write it for me",
            "write me",
            "reword",
            "proofread",
            // ("I don't know how to fix it" still asks for feedback.)
            "can you fix",
            "please fix",
            "just fix",
            "fix it for me",
            "edit it",
            "edit this",
            "shorten",
            "make it",
            "polish",
            "only the",
            "just the",
            // Someone else's message to read and answer ("my coworker sent
            // me this... how do I reply?"), not the user's own to improve.
            "sent me",
            "texted me",
            "emailed me",
            "messaged me",
            "wrote to me",
            "how do i reply",
            "how should i reply",
            "how do i respond",
            "how should i respond",
        ],
        // Not figures or code to judge: those have their own genres; nor a
        // proof or a sum to check ("check my reasoning: ..."). An email to
        // check is often taken for a summary.
        intents: &[
            Summarization,
            CreativeWriting,
            Conversation,
            QuestionAnswering,
            ProblemSolving,
            TaskPlanning,
        ],
        material: true,
        feedback: true,
        line: "Start with what works, then the changes that would improve it most, in order of importance, quoting the lines you mean and showing how one of them could read instead.",
        ..PLAIN
    },
    Genre {
        names: &[
            "make a budget",
            "making a budget",
            "create a budget",
            "build a budget",
            "set up a budget",
            "plan a budget",
            "do a budget",
            "help me budget",
            "monthly budget",
            "household budget",
            "family budget",
        ],
        intents: &[TaskPlanning, ProblemSolving, DataAnalysis, QuestionAnswering],
        structural: true,
        line: "Use the figures I gave (and ask for any missing one that matters), group the spending into a few categories, and name the two or three changes that would free the most money each month.",
        ..PLAIN
    },
    Genre {
        names: &["cover letter", "motivation letter", "letter of motivation"],
        line: "Match two or three of my concrete achievements to what the job asks for, close with a clear next step, and use only facts I gave ([placeholders] for the rest).",
        ..PLAIN
    },
    Genre {
        // "resume" alone is also the verb ("resume normal activity").
        names: &[
            "my resume",
            "my cv",
            "a resume",
            "a cv",
            "resume for",
            "cv for",
            "resume bullet",
            "linkedin summary",
            "linkedin profile",
        ],
        // A question about the CV's layout ("can a bootcamp go under
        // Education on my CV, or its own section?") is no bullets to write.
        unless: &[
            "section",
            "go under",
            "goes under",
            "its own",
            "where should",
            "where do i put",
            "how long should",
        ],
        line: "Lead each point with a strong verb and the result it had, using only facts I gave; mark any figure you would need from me as a [placeholder].",
        ..PLAIN
    },
    Genre {
        names: &["toast", "eulogy", "wedding speech", "best man speech", "speech"],
        intents: &[CreativeWriting, TaskPlanning, QuestionAnswering],
        // "One or two stories" would drop anecdotes the user listed.
        unless: &[
            "my notes",
            "anecdotes",
            "some stories",
            "a few stories",
            "these stories",
        ],
        line: "Write it to be spoken: short sentences, one or two specific stories or details, and a closing line that lands.",
        ..PLAIN
    },
    Genre {
        // Notes or a transcript pasted to work on, not a meeting in passing.
        names: &[
            "meeting notes",
            "transcript",
            "call notes",
            // Not "within 15 minutes".
            "meeting minutes",
            "the minutes",
            "these minutes",
            "minutes of",
            "minutes from",
            "notes from",
        ],
        intents: &[Summarization],
        material: true,
        // Decisions beside action items would break a table the user laid out.
        structural: true,
        // Notes from an onboarding day or a lecture record no decisions.
        unless: &[
            "onboarding",
            "orientation",
            "lecture",
            "training",
            "class notes",
            "study notes",
            "course",
        ],
        line: "Include the decisions made and the action items, with owners and dates where the notes give them.",
        ..PLAIN
    },
    Genre {
        names: &[
            "recipe for",
            "a recipe",
            "recipes for",
            "recipe with",
            "recipe using",
        ],
        structural: true,
        unless: &["convert", "temperature", "substitute", "instead of", "how long"],
        line: "List the ingredients with quantities first, then the steps in order with times and temperatures.",
        ..PLAIN
    },
    Genre {
        names: &[
            "itinerary",
            "trip",
            "vacation",
            "holiday",
            "travel plan",
            "honeymoon",
        ],
        intents: &[TaskPlanning],
        structural: true,
        // A school field trip is organised, not travelled; a checklist or a
        // timeline is the user's own shape.
        // A trip in passing in a plan about papers ("a 3-week trip abroad,
        // if that matters" in a green card question) is not the plan.
        unless: &[
            "field trip",
            "checklist",
            "timeline",
            "business trip",
            "if that matters",
            "green card",
            "citizenship",
            "visa",
            "immigration",
            "passport",
            // "I don't want a day-by-day schedule": refused.
            "dont want a day by day",
            "dont need a day by day",
            "not a day by day",
            "no day by day",
            "not looking for a day by day",
            // A packing list for a trip, or a choice between two trips,
            // is no day-by-day plan.
            "packing",
            "pack",
            "what to bring",
            "torn between",
            "which would you",
            "what would you pick",
            "which one",
            "decide between",
            "deciding between",
        ],
        line: "Lay it out day by day at a realistic pace, with travel times between places, rough costs, and what to book ahead.",
        ..PLAIN
    },
    Genre {
        names: &[
            "moving",
            "move house",
            "moving house",
            "moving flat",
            "relocating",
            "relocation",
        ],
        intents: &[TaskPlanning],
        // A move days away, with the van booked, needs an hour-by-hour
        // schedule, not notice periods.
        unless: &[
            // "Movers or a truck, which makes more sense?": a choice.
            "makes more sense",
            "this weekend",
            "tomorrow",
            "tonight",
            "today",
            "this week",
            "uhaul",
            "u haul",
            "van booked",
            "truck booked",
        ],
        line: "Order it by deadline, and flag the tasks with a long lead time (notice periods, bookings, address changes).",
        ..PLAIN
    },
    Genre {
        names: &[
            "study plan",
            "learning plan",
            "workout plan",
            "training plan",
            "workout routine",
            "exercise routine",
            "learn",
            "study for",
            "prepare for",
            "marathon",
            "half marathon",
            "5k",
            "week plan",
            "weekly plan",
        ],
        intents: &[TaskPlanning],
        structural: true,
        // A plan over days ("3 exams in the next 9 days") has no weeks.
        unless: &[
            "days left",
            "in the next",
            "day by day",
            "tomorrow",
            "tonight",
            "this week",
        ],
        line: "Break it into stages with a concrete goal for each week, and say how I can check my progress.",
        ..PLAIN
    },
    Genre {
        names: &["party", "baby shower", "reunion", "festival", "fundraiser"],
        intents: &[TaskPlanning],
        // "Two offers for the same Saturday ... they might have me do their
        // New Year's Eve party": a choice to weigh, not a party to plan.
        unless: WEIGHING,
        line: "Say what to prepare the day before, and include a backup for what is most likely to go wrong.",
        ..PLAIN
    },
    Genre {
        names: &[
            "how to explain",
            "how do i explain",
            "how can i explain",
            "how should i explain",
            "help me explain",
            "explain it to",
            "explain this to",
        ],
        // "Show the reasoning so I can explain it to the captain": the
        // working of a puzzle, not a lesson for a listener.
        unless: &[
            "show the reasoning",
            "show your reasoning",
            "show the working",
            "show your working",
            // "Show how you calculated so I can explain it to the
            // chairman": the working is what they will show.
            "show how",
            "show me how you",
            "show the calculation",
            "show the calculations",
            "show the numbers",
            // A figure to report and how to word it, not a lesson.
            "to report",
            "report to",
        ],
        questions: true,
        line: "Give me the explanation in words I can use with them directly, built on what they already understand, and a quick way to check it landed.",
        ..PLAIN
    },
    Genre {
        names: &["interview"],
        intents: &[TaskPlanning, QuestionAnswering, ProblemSolving],
        line: "Cover the questions most likely for this role, each with a strong sample answer built on a specific example (situation, action, result).",
        ..PLAIN
    },
    Genre {
        names: &[
            "how do i tell",
            "how should i tell",
            "how to tell my",
            "how do i ask my",
            "how should i ask",
            "how to ask my",
            "what should i say",
            "how do i respond",
            "how should i respond",
            "how to respond to",
            "how do i say no",
            "how do i talk to",
            "what do i say",
            "what do i actually say",
            "how should i open the conversation",
            "how do i open the conversation",
            "how do i start the conversation",
            "how should i start the conversation",
        ],
        // "How do I tell if that's a real difference?" asks for a method.
        unless: &[
            "tell if",
            "tell whether",
            "tell the difference",
            "tell which",
            "tell how",
            "tell between",
            "tell apart",
            "tell what",
            "tell whats",
        ],
        line: "Give me the actual words I could use, and how to respond if they push back.",
        ..PLAIN
    },
    Genre {
        // Named as what to write: "an email from the landlord" that the
        // user got, or "before I reply to his email", is not one to write.
        names: &[
            "write an email",
            "write me an email",
            "write a email",
            "draft an email",
            "draft me an email",
            "compose an email",
            "an email to",
            "email to my",
            "email to the",
            "email for",
            "email about",
            "email asking",
            "email telling",
            "apology email",
            "follow up email",
            "write a reply",
            "draft a reply",
            "write the email",
            "draft the email",
            "e mail to",
        ],
        // A reply in a personal chat is a conversation, not a memo.
        unless: &[
            "group chat",
            "text message",
            "whatsapp",
            "roommate",
            "roommates",
            "lived together",
        ],
        intents: &[CreativeWriting, TaskPlanning, ProblemSolving, QuestionAnswering],
        line: "Put the purpose in the first sentence, keep it easy to skim, and end with one clear request or next step.",
        ..PLAIN
    },
    Genre {
        names: &[
            "product description",
            "ad copy",
            "landing page",
            "sales page",
            "marketing copy",
            "instagram caption",
            "listing description",
        ],
        intents: &[CreativeWriting],
        line: "Lead with what the reader gets from it, and back that with concrete details.",
        ..PLAIN
    },
    Genre {
        names: &[
            "anniversary",
            "for my wife",
            "for my husband",
            "for my mom",
            "for my mum",
            "for my mother",
            "for my dad",
            "for my father",
            "for my girlfriend",
            "for my boyfriend",
            "for my partner",
            "for my best friend",
            "for my grandma",
            "for my grandpa",
        ],
        intents: &[CreativeWriting],
        line: "Make it personal: ask me for two or three specific memories or details first, or leave clearly marked [placeholders] for them.",
        ..PLAIN
    },
    Genre {
        names: &[
            "blog post",
            "article",
            "essay",
            "newsletter",
            "linkedin post",
            "op ed",
        ],
        intents: &[CreativeWriting],
        unless: &[
            "intro",
            "introduction",
            "paragraph",
            "title",
            "titles",
            "headline",
            "outline",
            // "Write them like a funny 29-year-old, not like a LinkedIn
            // post": a style to avoid, not the piece to write.
            "not like a",
            "not like an",
        ],
        line: "Open with a hook, make each point concrete with an example, and end with a clear takeaway.",
        ..PLAIN
    },
    Genre {
        names: &["short story", "story", "bedtime story", "fable"],
        intents: &[CreativeWriting],
        unless: &[
            "continue",
            "continuation",
            "next part",
            "next chapter",
            "keep going",
            "dont wrap",
            "opening of my",
            // Only the start of a story ("write the opening of a short
            // story", "an example opening", "the first paragraph"): no
            // turning point or ending to pay off.
            "opening",
            "first paragraph",
            "first chapter",
            // The user chose the ending.
            "cliffhanger",
            "open ending",
            "to be continued",
            // Several ideas to choose from, not one story to write.
            "ideas for",
            "story ideas",
            // Reporting, not fiction; and a word for one, not a story.
            "news story",
            "word besides",
            "a word for",
            "another word",
            "synonym",
            // A story to soothe ("very calm and slow"): a turning point
            // would bring the tension the user ruled out.
            "very calm",
            "calm and slow",
            "soothing",
        ],
        line: "Give it a character who wants something, a turning point, and an ending that pays off the opening.",
        ..PLAIN
    },
    Genre {
        names: &[
            "fever",
            "rash",
            "symptom",
            "symptoms",
            "dose",
            "dosage",
            "ibuprofen",
            "tylenol",
            "paracetamol",
            "acetaminophen",
            "medication",
            "antibiotics",
            "blood pressure",
            "chest pain",
            "headaches",
        ],
        intents: &[QuestionAnswering, ProblemSolving, Reasoning],
        questions: true,
        // A meal plan or a shopping list for someone with a condition asks
        // for the plan, not for the condition's warning signs. Nor are a
        // house's or a machine's "symptoms" a body's (a musty basement's
        // readings are a fault to find).
        unless: &[
            "meal plan",
            "meal plans",
            "shopping list",
            "grocery list",
            "recipe",
            "recipes",
            "basement",
            "house",
            "roof",
            "engine",
            "laptop",
            "computer",
            "sump pump",
            "leaves",
        ],
        line: "Give the general guidance plainly, say what depends on age, weight or other conditions, and list the signs that mean calling a doctor now.",
        ..PLAIN
    },
    Genre {
        names: &[
            "is it legal",
            "is that legal",
            "is this legal",
            "is it even legal",
            "is that even legal",
            "is this even legal",
            // Not "done things that should honestly be illegal" in passing.
            "is it illegal",
            "is that illegal",
            "is this illegal",
            "illegal to",
            "can my landlord",
            "can the landlord",
            "can my employer",
            "can my boss",
            "am i allowed to",
            "are they allowed to",
            "is he allowed to",
            "is she allowed to",
            "my rights",
            "sue",
            "small claims",
            "my deposit",
            "the deposit",
            "evict",
            "eviction",
        ],
        intents: &[QuestionAnswering, ProblemSolving, Reasoning],
        questions: true,
        unless: &["legally a", "legal age"],
        line: "Say what usually applies and what depends on where I am, what I can do first, and when it is worth asking a lawyer.",
        ..PLAIN
    },
    Genre {
        // "Is it safe to drive / can it wait until next month?" about a
        // fault: the answer the person needs first is how urgent it is.
        names: &[
            "safe to drive",
            "safe to keep driving",
            "safe to use",
            "can it wait",
            "can this wait",
            "deal with right away",
            "deal with it now",
            "right away or",
        ],
        intents: &[ProblemSolving],
        line: "Say first whether it can safely wait and what would make it urgent, then the most likely causes with a quick check for each.",
        ..PLAIN
    },
    Genre {
        names: &[
            "error",
            "crash",
            "crashes",
            "crashing",
            "broken",
            "not working",
            "doesnt work",
            "stopped working",
            "wont start",
            "wont turn on",
            "keeps dropping",
            "keeps crashing",
            "keeps freezing",
            "keeps stopping",
            "keeps restarting",
            "keeps turning off",
            "keeps shutting down",
            "keeps beeping",
            "freezes",
            "dropping",
            "disconnects",
            "overheating",
            "leaking",
            "leaks",
            "fails",
            "failing",
            "disconnecting",
            "keeps disconnecting",
            "wont connect",
            "cant connect",
            "wont boot",
            "blue screen",
            "getting slow",
            "so slow",
            "weird noise",
            "strange noise",
            "making a noise",
            "smells like",
            "barely rises",
            "keeps going out",
            "flickering",
            "stuck on",
            // A bake or a print that keeps failing the same way.
            "drains slowly",
            "draining slowly",
            "drains super slowly",
            "drains really slowly",
            "clogged",
            "keeps leaving",
            "keeps coming out",
            "keep coming out",
            "keeps turning out",
            "keep turning out",
            "wont rise",
            "didnt rise",
            // A noise or a symptom of a machine or a plant.
            "clicking sound",
            "clicking noise",
            "makes a clicking",
            "grinding noise",
            "grinding sound",
            "squealing",
            "squeaking",
            "rattling",
            "makes a noise",
            "makes a sound",
            "turning yellow",
            "going yellow",
            "brown spots",
            "wilting",
        ],
        intents: &[ProblemSolving],
        // A child who will not sleep is not a fault to find: the parents
        // ask what to try and in what order.
        unless: &[
            "year old has",
            "year old is",
            "year old keeps",
            "year old wont",
            "year old son",
            "year old daughter",
            "toddler",
            "newborn",
            "baby",
            "bedtime",
            "deciding its not working",
            "if its not working",
            "if it isnt working",
            // A speech's stories ("him crashing our dad's car at 17") are
            // no fault to find.
            "best man",
            "maid of honor",
            "speech",
            "toast",
            "eulogy",
            "stories",
            // "Failing my stats module ... how do I even decide": a choice,
            // not a fault.
            "failing my",
            "midterm",
            "semester",
            "decide",
            "decision",
        ],
        line: "Start with the most likely causes of what I described, give a quick check that confirms each, then the fix.",
        ..PLAIN
    },
    Genre {
        names: &[
            "which",
            "what",
            "is there",
            "anything",
            "trend",
            "average",
            "growth",
            "grew",
            "calculate",
            "compare",
            "analyze",
            "analyse",
            "insights",
            "patterns",
            "why",
        ],
        intents: &[DataAnalysis],
        questions: true,
        material: true,
        // "A short summary table, then a few sentences": the user's shape.
        structural: true,
        line: "Show the figures you compute from my data before the conclusion, and point out anything in it that looks off or too thin to rely on.",
        ..PLAIN
    },
    Genre {
        names: &[
            "difference between",
            "differences between",
            "compare",
            "comparison",
            "which is better",
        ],
        // Two figures to test ("2.1% vs 2.4%, significant?") are a
        // calculation, not two things to compare.
        intents: &[QuestionAnswering, Reasoning, TaskPlanning, ProblemSolving],
        questions: true,
        unless: NOT_TWO_THINGS,
        whole: true,
        line: "Compare them point by point on what actually differs, and say when each one applies.",
        ..PLAIN
    },
    Genre {
        names: &["vs", "versus"],
        intents: &[QuestionAnswering, Reasoning],
        questions: true,
        unless: NOT_TWO_THINGS,
        whole: true,
        line: "Compare them point by point on what actually differs, and say when each one applies.",
        ..PLAIN
    },
    Genre {
        names: &["vs", "versus"],
        // "hire out vs. do myself" in a long plan or a long account of a
        // problem is a word in passing; in a short one it names the subject.
        intents: &[TaskPlanning, ProblemSolving],
        questions: true,
        short: true,
        unless: &["significant", "significance", "p value"],
        whole: true,
        line: "Compare them point by point on what actually differs, and say when each one applies.",
        ..PLAIN
    },
    Genre {
        // "Help me think it through instead of just picking one for me":
        // the weighing, without the verdict they declined.
        names: &[
            "instead of just picking",
            "instead of picking",
            "not just pick",
            "dont just pick",
            "dont pick for me",
            "without picking",
            "dont tell me what to do",
            "not tell me what to do",
            "without telling me what to do",
        ],
        intents: &[QuestionAnswering, Reasoning, TaskPlanning, ProblemSolving],
        line: "Weigh the factors that matter in my situation and say what would tip it one way or the other, without choosing for me.",
        ..PLAIN
    },
    Genre {
        // "What questions should I be asking myself?": the questions are
        // the answer, with what their answers would mean (before the
        // decision genre, which "should i" names).
        names: &[
            "questions should i ask",
            "questions should i be asking",
            "questions do i ask",
            "questions to ask",
            "what should i ask",
            "what should i be asking",
        ],
        intents: &[
            QuestionAnswering,
            ProblemSolving,
            Reasoning,
            TaskPlanning,
            Conversation,
        ],
        questions: true,
        line: "List the questions worth asking, most important first, and for each say what a reassuring answer and a worrying one would sound like.",
        ..PLAIN
    },
    Genre {
        // A message to check ("got this text, is it legit?? should I click
        // it?"): the verdict and its signs, not a weighing of options
        // (before the decision genre, which "should i" names).
        names: &[
            "is it legit",
            "is this legit",
            "is that legit",
            "legit or",
            "is this a scam",
            "is it a scam",
            "is that a scam",
            "a scam or",
            "scam or not",
            "is this phishing",
            "phishing",
        ],
        intents: &[
            QuestionAnswering,
            ProblemSolving,
            Reasoning,
            Conversation,
            Summarization,
        ],
        questions: true,
        line: "Say plainly whether it looks genuine or a scam and which signs show it, then what to do now, and what not to click or share.",
        ..PLAIN
    },
    Genre {
        // Something happening now ("water dripping next to the light, what
        // should I do right now?"): the immediate steps come first, not a
        // weighing of options (before the decision genre, which "should i"
        // names).
        names: &[
            "what should i do right now",
            "what do i do right now",
            "what should i do now",
            "what do i do now",
            "what should i do tonight",
            "what do i do tonight",
            "what to do right now",
        ],
        intents: &[QuestionAnswering, ProblemSolving, TaskPlanning, Reasoning],
        questions: true,
        line: "Start with what to do right now, in order, to stay safe and limit the damage, then what to do next.",
        ..PLAIN
    },
    Genre {
        // "Is it normal...? Should I be worried?": a worry to settle, not a
        // choice to weigh (before the decision genre, which "should i"
        // names). Symptoms with a doctor's signs come earlier.
        names: &[
            "is it normal",
            "is this normal",
            "is that normal",
            "should i be worried",
            "should i be concerned",
            "cause for concern",
        ],
        // "Should I stop running or is this normal?" is a choice to weigh;
        // "should I worry about voltage drop?" a technical question. A
        // craft's "is it normal that the yoke looks too wide?" wants the
        // craft's answer, not signs of a concern and who could check it.
        unless: &[
            "or is this normal",
            "or is it normal",
            "or is that normal",
            "knitting",
            "knit",
            "crochet",
            "sewing",
            "yarn",
            "stitches",
            "woodworking",
            "pottery",
        ],
        intents: &[QuestionAnswering, ProblemSolving, Reasoning, Conversation],
        questions: true,
        whole: true,
        line: "Say plainly whether this is usual, what signs would make it a real concern and who could check it, and what I can do meanwhile.",
        ..PLAIN
    },
    Genre {
        names: &[
            "should i",
            "is it worth",
            "is it a good idea",
            "would it be better",
            "do you think i should",
            "decide between",
            "deciding between",
            "trying to decide",
            "is it smarter",
            "which makes more sense",
            "is it better to",
            "how do i decide",
            "how do i even decide",
            "help me decide",
            "cant decide",
            "which would you pick",
            "what would you pick",
            "what would you choose",
            "help deciding",
            "which one youd pick",
            "which would you choose",
            "which way would you go",
            "which would you go with",
            // Not "torn between": that may be someone else's choice, to
            // explain without pushing them either way.
            "going back and forth",
            "two offers",
            "both offers",
            "help me think through",
            "help me think this through",
        ],
        // "Say what would change the answer" is the "it depends" they refused.
        // "How should I analyse this" asks for a method, not a decision.
        unless: &[
            "it depends",
            "straight recommendation",
            "straight answer",
            "should i analyse",
            "should i analyze",
            "should i actually analyse",
            "should i actually analyze",
            // "What's going on, and what should I do?" asks for a diagnosis.
            "going on",
            // "What should I do, in what order, and what should I tell
            // her?" asks for steps and words, not a choice between options.
            "in what order",
            "what order",
            "what should i tell",
            "what should i say",
            // "What should I try next?" asks for things to try; "what
            // should I check first?" for checks in order.
            "what should i try",
            "should i try next",
            "should i check",
            "should i look at",
            "check first",
            // "What should I do between now and the day?" asks for a plan.
            "between now",
            // "Who should I loop in?" asks for people, not a choice.
            "who should i",
            // "What questions should I be asking myself?" wants the
            // questions, not a verdict.
            "questions should i",
            "questions to ask",
            "what should i ask",
            "should i be asking",
            // "Realistic ways people make friends, concretely what should I
            // do this month": options to act on, not one choice to weigh.
            "ways to",
            "ways people",
            "what should i do this",
            // "How should I open the conversation?" asks for words.
            "how should i open",
            "how should i start",
            // "How should I structure that conversation?" asks for a way.
            "how should i structure",
            "what do i say",
            "what do i actually say",
            // "What temp should I set my fridge to?" asks for a value.
            "temp should i",
            "temperature should i",
            "size should i",
            "setting should i",
            "what time should i",
            "how much should i",
            "how often should i",
            "how long should i",
            "how many should i",
        ],
        intents: &[QuestionAnswering, Reasoning, TaskPlanning, ProblemSolving],
        whole: true,
        line: "Weigh the factors that matter in my situation, say what would change the answer, and end with a clear recommendation.",
        ..PLAIN
    },
    Genre {
        names: &[
            "recommend",
            "recommendations",
            "suggest",
            "suggestions",
            "ideas for",
            "gift ideas",
            "what are some good",
            "any good",
            "brainstorm",
        ],
        // One corrected thing asked for ("suggest a fixed version that
        // changes as few assignments as possible"), not options.
        unless: &[
            // Bases for a trip and nights in each: a plan that uses
            // several, not options to pick one from.
            "how many nights",
            "nights in each",
            "base ourselves",
            "fixed version",
            "corrected version",
            "revised version",
            "as few",
            "minimal change",
        ],
        intents: &[QuestionAnswering, TaskPlanning, CreativeWriting, ProblemSolving],
        line: "Give a few specific options, each with a line on why it fits what I described, and say which you would pick.",
        ..PLAIN
    },
    Genre {
        names: &[
            "fix",
            "bug",
            "crash",
            "crashes",
            "error",
            "broken",
            "not working",
            "doesnt work",
            "wrong",
        ],
        intents: &[CodeGeneration],
        // "Port this and test the error cases" names no fault.
        unless: &["error cases", "error case", "port this", "port it"],
        material: true,
        line: "Say what causes the problem, then give the corrected code with a short note on what changed.",
        ..PLAIN
    },
    Genre {
        names: &[
            "how do i",
            "how can i",
            "how to",
            "how do you",
            "steps to",
            "walk me through",
        ],
        intents: &[QuestionAnswering, ProblemSolving, TaskPlanning],
        structural: true,
        questions: true,
        unless: &[
            "fix",
            "noise",
            "broken",
            "not working",
            "error",
            "leak",
            "problem",
            "issue",
            // Telling causes apart is a diagnosis, not a procedure.
            "how do i tell",
            "going on",
            // A setting in an app ("freeze the top row in Google Sheets")
            // is a menu path: nothing to get ready, no step to get wrong.
            "google sheets",
            "excel",
            "in word",
            "gmail",
            "outlook",
            "iphone",
            "android",
            "on my phone",
            "in chrome",
            "windows 11",
            "windows 10",
            "whatsapp",
            "instagram",
            "facebook",
            "messenger",
            "telegram",
            "tiktok",
            "snapchat",
            "spotify",
            "netflix",
            "youtube",
            "zoom",
            "teams",
            "slack",
        ],
        short: true,
        line: "Say what I need before I start, and flag the step people most often get wrong.",
        ..PLAIN
    },
    Genre {
        names: &[
            "explain",
            "how does",
            "how do",
            "why does",
            "why do",
            "why is",
            "why are",
            "what happens when",
            "help me understand",
            "what does it mean",
        ],
        intents: &[QuestionAnswering],
        questions: true,
        unless: &[
            "how do i",
            "how do you",
            "how do we",
            "how can i",
            "how to",
            "why does my",
            "why is my",
            "why do my",
            "why are my",
            "why did my",
            "why wont my",
        ],
        opening: true,
        whole: true,
        line: "Start with the core idea in plain words, then how it works, with one concrete example; define any technical term you use.",
        ..PLAIN
    },
];

/// Whether the supplied content is a table of figures (not a log or code):
/// what "the figures you compute from my data" can be about.
fn figures(slots: &Slots) -> bool {
    let Some(content) = slots.content.as_deref() else {
        return false;
    };
    let lower = content.to_lowercase();
    let log = [
        "error",
        "warn",
        "exception",
        "traceback",
        "[info",
        "info ",
        "debug",
    ]
    .iter()
    .any(|w| lower.contains(w));
    let numeric = content
        .lines()
        .filter(|l| l.chars().filter(char::is_ascii_digit).count() >= 2)
        .count();
    !log && !slots.content_is_code() && numeric >= 3
}

/// The guidance line for this prompt, if a genre it names calls for one
/// (see the module docs for when none is given).
pub(crate) fn guidance(text: &str, slots: &Slots, intent: Intent, level: Level) -> Option<&'static str> {
    let lower = &Lower::new(text);
    // A short piece to write gets no line; one pasted for an opinion ("I
    // wrote this toast, tell me honestly if it works") may get feedback.
    let verse = slots.kind == TaskKind::ShortCreative;
    // A scene to play ("play Detective Hale while I play Vera; stay in
    // character") answers turn by turn: no line shapes a turn.
    if level == Level::Light
        || slots.terse
        || slots.persona.is_some()
        || slots.role_play
        || verse && slots.content.is_none()
        || intent == Translation
    {
        return None;
    }
    // A short question over pasted figures reads as a rewrite of them, but
    // it asks for an analysis. Otherwise a rewrite or a chat gets a line
    // only when it asks for feedback on the text.
    let feedback_only =
        verse || slots.kind == TaskKind::Rewrite && intent != DataAnalysis || intent == Conversation;
    // A tight limit leaves no room for more parts: the user's own
    // shape wins.
    let tight = slots.length.is_some_and(|l| {
        use crate::slots::LengthUnit::{Bullets, Characters, Items, Lines, Paragraphs, Sentences, Words};
        l.max.is_some_and(|m| match l.unit {
            Words => m <= 150,
            Characters => m <= 900,
            Sentences | Lines | Bullets | Items => m <= 5,
            Paragraphs => m <= 1,
        })
    });
    // "Keep it short": more parts would break the user's own limit.
    if tight || slots.brief {
        return None;
    }
    let question = slots.kind == TaskKind::FactLookup;
    // An explanation is asked for up front ("why does ...", "explain ...");
    // "explain" after a puzzle asks for the working, not a lesson.
    let opens = |g: &Genre| !g.opening || lower.opens_with_any(g.names, 8);
    let long = lower.words().count() > 40;
    GENRES
        .iter()
        .filter(|g| g.intents.is_empty() || g.intents.contains(&intent))
        .filter(|g| g.feedback || !feedback_only)
        .filter(|g| !g.feedback || !slots.content_is_code())
        .filter(|g| !(g.structural && slots.format.is_some()))
        .filter(|g| g.questions || !question)
        .filter(|g| !(g.short && long))
        .filter(|g| !g.material || slots.content.is_some())
        // A list of the user's own questions (not a list pasted to work
        // on, such as chores to put in order).
        .filter(|g| !(g.whole && slots.own_list && slots.content.is_none()))
        // "The corrected code" needs code to correct: a serial log of a
        // brownout is not it.
        .filter(|g| !g.material || !g.intents.contains(&CodeGeneration) || slots.content_is_code())
        .filter(|g| !g.intents.contains(&DataAnalysis) || !g.material || figures(slots))
        .find(|g| {
            // Feedback is asked for in the user's own words, not in the
            // text to judge ("feedback" in pasted meeting notes).
            let said = match (g.feedback, slots.content.as_deref()) {
                (true, Some(content)) => &Lower::new(&text.replacen(content, " ", 1)),
                _ => lower,
            };
            said.has_any(g.names) && !said.has_any(g.unless) && opens(g)
        })
        .map(|g| g.line)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::slots::read;

    fn line(text: &str, intent: Intent) -> Option<&'static str> {
        guidance(text, &read(text), intent, Level::Standard)
    }

    #[test]
    fn a_named_genre_gets_its_line() {
        assert!(
            line(
                "Write a cover letter for a junior accountant job at Deloitte",
                CreativeWriting
            )
            .is_some_and(|l| l.contains("achievements"))
        );
        assert!(
            line(
                "whats the difference between a roth ira and a traditional ira",
                QuestionAnswering
            )
            .is_some_and(|l| l.starts_with("Compare"))
        );
        assert!(
            line(
                "my dishwasher keeps stopping mid cycle and beeping",
                ProblemSolving
            )
            .is_some_and(|l| l.contains("likely causes"))
        );
    }

    #[test]
    fn something_happening_now_gets_steps_first_and_someone_elses_message_no_feedback() {
        let leak = "there's water dripping from the ceiling next to the light fixture, the landlord isn't picking up and it's 11pm. What should I do right now, and what should I do tomorrow?";
        assert!(line(leak, ProblemSolving).is_some_and(|l| l.starts_with("Start with what to do right now")));
        let slack = "My coworker sent me this on Slack. Am I reading too much into it or is this passive aggressive? And how do I reply?\n\n\"Hey! Just circling back on the Q3 deck. Going forward it might be helpful to flag blockers earlier so the rest of us aren't left scrambling. Thanks so much!!\"";
        assert!(!line(slack, ProblemSolving).is_some_and(|l| l.starts_with("Start with what works")));
    }

    #[test]
    fn a_claim_beside_the_real_problem_does_not_lead() {
        let tomato = "ok so my tomato plants leaves are going yellow from the bottom up and i water them every day also my neighbor says coffee grounds fix everything lol is that true anyway what do i actually do about the yellow leaves";
        assert!(line(tomato, ProblemSolving).is_some_and(|l| l.contains("likely causes")));
    }

    #[test]
    fn a_refused_day_by_day_schedule_is_not_asked_for() {
        let japan = "Planning a 10-day trip to Japan in early April with my mom, who uses a wheelchair. I don't want a day-by-day schedule with every hour filled, we move slowly. Could you suggest which cities to base ourselves in and roughly how many nights in each?";
        assert!(!line(japan, TaskPlanning).is_some_and(|l| l.contains("day by day")));
        assert!(!line(japan, TaskPlanning).is_some_and(|l| l.contains("which you would pick")));
    }

    #[test]
    fn round_52_losses_get_the_line_that_fits_or_none() {
        assert_eq!(
            line(
                "password manager vs writing passwords in a notebook at home, which is actually safer? quick honest take",
                QuestionAnswering
            ),
            None
        );
        let moving = "We're moving a 2 bedroom apartment about 300 miles with two kids. Full-service movers quoted $3,800, a 20ft truck would be around $900 plus gas. Which makes more sense honestly? We both work full time.";
        assert!(line(moving, TaskPlanning).is_some_and(|l| l.contains("clear recommendation")));
    }

    #[test]
    fn notes_from_an_onboarding_day_record_no_decisions() {
        let onboarding = "These are my notes from onboarding today, can you turn them into a clean list of action items with who/when where I wrote it down:\n\n- laptop from IT - ask Marcus\n- benefits enrollment deadline 30 days from start\n- shadow Dana on client calls tues/thurs";
        assert!(!line(onboarding, Summarization).is_some_and(|l| l.contains("decisions made")));
    }

    #[test]
    fn round_50_losses_get_the_line_that_fits_or_none() {
        assert_eq!(
            line(
                "affect vs effect, quick, which one is the noun",
                QuestionAnswering
            ),
            None
        );
        let calc = "I have my calc 2 final at 8am and I still don't get the series convergence tests (ratio, root, comparison etc). Is it smarter to stay up and grind through it or sleep 5 hours and review in the morning?";
        assert!(line(calc, ProblemSolving).is_some_and(|l| l.contains("clear recommendation")));
        let watch = "few questions bc my smartwatch is stressing me out\n1. what's a normal resting heart rate\n2. it says 104 right now, is that bad\n3. when should i get checked\n4. could wine cause this";
        assert_eq!(line(watch, QuestionAnswering), None);
        let insomnia = "3am questions, go:\n(a) why does the fridge seem louder at night\n(b) is the 8 spiders a year thing real\n(c) what's the quietest place on earth";
        assert_eq!(line(insomnia, QuestionAnswering), None);
        let storm = "My 6 year old can't sleep because of the thunderstorm. Write a bedtime story about 300 words, very calm and slow, about a dog named Biscuit. No scary parts at all.";
        assert!(!line(storm, CreativeWriting).is_some_and(|l| l.contains("turning point")));
    }

    #[test]
    fn round_48_losses_get_the_line_that_fits() {
        let module = "Im failing my stats module (got 38% on the midterm) and the drop deadline is friday. If I drop it I graduate a semester late, if I stay I might fail anyway. how do I even decide this";
        assert!(line(module, ProblemSolving).is_some_and(|l| l.contains("clear recommendation")));
    }

    #[test]
    fn round_47_losses_get_no_line_that_misfits() {
        let bill = "my electric bill went from like $90 to $210 this month and nothing changed in the house that i know of. its winter but we have gas heat. what should i check first";
        assert!(!line(bill, ProblemSolving).is_some_and(|l| l.contains("clear recommendation")));
        let shelf = "Few questions about my first woodworking project, a simple pine bookshelf:\n1. what finish should I use if I want it to stay light colored\n2. do I need to sand between coats, and with what grit\n3. how long before I can put books on it\n4. any tips to avoid that blotchy look pine gets";
        assert!(!line(shelf, ProblemSolving).is_some_and(|l| l.contains("clear recommendation")));
        let yoke = "ok so im knitting my first sweater and have a few questions. how do i know when to stop the raglan increases? and is it normal that the yoke looks way too wide while its still on the needles??";
        assert!(
            !line(yoke, ProblemSolving).is_some_and(|l| l.starts_with("Say plainly whether this is usual"))
        );
        let pick = "We have about 2,500 saved and a week off in October, two adults and a 4-year-old. We're torn between a package holiday to the Canaries or driving somewhere in France. Which would you pick and why?";
        assert!(!line(pick, TaskPlanning).is_some_and(|l| l.contains("day by day")));
        let packing = "I need a packing list for a 3-day car camping trip in late May with two kids. Group it by category.";
        assert!(!line(packing, TaskPlanning).is_some_and(|l| l.contains("day by day")));
        let trip = "Plan a 5 day trip to Lisbon and Porto for two in April, we like food and walking";
        assert!(line(trip, TaskPlanning).is_some_and(|l| l.contains("day by day")));
    }

    #[test]
    fn a_way_to_structure_a_talk_gets_no_decision_line() {
        let talk = "My dad was diagnosed with early-stage Alzheimer's. My brother and sister live far away. I'd like to set up a family video call. How should I structure that conversation, and what tasks can siblings who live far away take on?";
        assert!(!line(talk, ProblemSolving).is_some_and(|l| l.contains("clear recommendation")));
    }

    #[test]
    fn a_houses_symptoms_are_no_health_question() {
        let basement = "We bought a 1960s house and the basement smells musty after rain. Humidity is 68% to 82%, there's white residue on the block walls. Based on these readings and symptoms, what's the most likely cause, and what should I try first?";
        assert!(!line(basement, ProblemSolving).is_some_and(|l| l.contains("calling a doctor")));
    }

    #[test]
    fn a_scene_to_play_gets_no_line() {
        let noir = "I'm writing a noir short story set in Chicago in 1952. Can you play Detective Ray Hale, a tired homicide cop, while I play Vera Lind, a nightclub singer? Interrogate me. Keep your lines clipped, and stay in character unless I type OOC.";
        assert_eq!(line(noir, CreativeWriting), None);
    }

    #[test]
    fn round_43_losses_get_no_line_that_misfits() {
        let paints = "want to get into watercolor but the supply aisle overwhelmed me. budget like 60 bucks. what do i actually need vs what's a scam";
        assert!(!line(paints, QuestionAnswering).is_some_and(|l| l.starts_with("Compare")));
        let fix = "Can you spot any conflicts in this schedule?\n\nMon AM: Priya, Tom\nMon PM: Tom\n\nIf you can, suggest a fixed version that changes as few assignments as possible.";
        assert!(!line(fix, TaskPlanning).is_some_and(|l| l.starts_with("Give a few specific options")));
    }

    #[test]
    fn round_42_losses_get_the_line_that_fits_or_none() {
        let scam = "Got this text just now, is it legit??\n\n\"Apple ID: Your iCloud storage payment has failed. Update your billing details: icloud-support-billing.com/verify\"\n\nI do pay for icloud. Should I click it?";
        assert!(line(scam, ProblemSolving).is_some_and(|l| l.contains("genuine or a scam")));
        let sheets = "How do I freeze the top row in google sheets so the headers stay visible when I scroll";
        assert_eq!(line(sheets, ProblemSolving), None);
        let best_man = "My little brother is getting married in June and I'm the best man. I've got stories: him crashing our dad's car at 17. Can you help me figure out a structure and which stories to use?";
        assert!(!line(best_man, ProblemSolving).is_some_and(|l| l.contains("likely causes")));
    }

    #[test]
    fn round_41_losses_get_no_line_that_misfits() {
        let offers = "Need help deciding between two offers. Offer A: a bank, 92k. Offer B: a remote startup, 78k + equity. What questions should I be asking myself?";
        assert!(
            line(offers, ProblemSolving).is_some_and(|l| l.starts_with("List the questions worth asking"))
        );
        let trick = "Affect vs effect — is there a trick to remember which one is the verb?";
        assert!(!line(trick, QuestionAnswering).is_some_and(|l| l.starts_with("Compare")));
        let exams = "I have 3 exams in the next 9 days: organic chemistry (day 4), statistics (day 7). Help me make a study plan.";
        assert!(!line(exams, TaskPlanning).is_some_and(|l| l.contains("each week")));
        let weeks = "I can run 10k in about 58 minutes. Make me a 12 week plan to run my first marathon, I can train 4 days a week max.";
        assert!(line(weeks, TaskPlanning).is_some_and(|l| l.contains("each week")));
        let cv = "Can a coding bootcamp go under Education on my CV, or should it be its own section?";
        assert_eq!(line(cv, ProblemSolving), None);
    }

    #[test]
    fn a_worry_a_choice_feedback_and_a_brainstorm_get_their_lines() {
        assert!(
            line(
                "Is it normal that my 2 year old only says about 15 words? Should I be worried",
                ProblemSolving
            )
            .is_some_and(|l| l.starts_with("Say plainly whether this is usual"))
        );
        assert!(
            line("need help deciding. summer option A: lifeguard, $16/hr. option B: unpaid research assistant, could turn paid. could i do both?? what would you pick", ProblemSolving)
                .is_some_and(|l| l.contains("clear recommendation"))
        );
        assert!(
            line(
                "Can you brainstorm some ways to make our volunteers feel valued that cost nothing?",
                CreativeWriting
            )
            .is_some_and(|l| l.starts_with("Give a few specific options"))
        );
    }

    #[test]
    fn a_short_piece_pasted_for_an_opinion_gets_feedback_and_one_to_write_gets_nothing() {
        let toast = "I'm 74 and I wrote this for my granddaughter's wedding toast next month. I'm no poet. Can you tell me honestly if it works and suggest small fixes?\n\nWhen you were small you held my hand\nAnd walked with me along the sand\nYou asked me why the sea was blue\nI didn't know, I still don't too";
        assert!(line(toast, Conversation).is_some_and(|l| l.starts_with("Start with what works")));
        assert_eq!(
            line(
                "Write a short toast for my granddaughter's wedding",
                CreativeWriting
            ),
            None
        );
    }

    #[test]
    fn a_question_of_method_gets_one_recommendation() {
        let survey = "I ran a survey with 230 people on a 1 to 5 scale. For my thesis, should I report the mean or the median? And what statistical test do I use to compare nurses and doctors?";
        for intent in [DataAnalysis, QuestionAnswering] {
            assert!(line(survey, intent).is_some_and(|l| l.starts_with("Recommend one approach")));
        }
        assert!(
            !line("Run a t-test on these two columns: 3,4,5 and 6,7,8", DataAnalysis)
                .is_some_and(|l| l.starts_with("Recommend one approach"))
        );
    }

    #[test]
    fn a_meal_plan_for_a_condition_gets_no_warning_signs_line() {
        let plan = "My dad was just diagnosed with type 2 diabetes and also has high blood pressure. Could you put together a simple 7-day meal plan with a shopping list that he could cook himself?";
        assert!(!line(plan, TaskPlanning).is_some_and(|l| l.contains("calling a doctor")));
        assert!(!line(plan, ProblemSolving).is_some_and(|l| l.contains("calling a doctor")));
        assert_eq!(
            crate::domain::role_for(plan, false, None),
            Some("a registered dietitian")
        );
    }

    #[test]
    fn health_legal_and_supplied_data_get_their_lines() {
        assert!(
            line(
                "My 7 year old has a fever of 102.5. Is it ok to alternate ibuprofen and Tylenol?",
                QuestionAnswering
            )
            .is_some_and(|l| l.contains("calling a doctor"))
        );
        assert!(
            line(
                "Is it legal for my landlord to come into my apartment without telling me first? I'm in Ohio.",
                QuestionAnswering
            )
            .is_some_and(|l| l.contains("lawyer"))
        );
        let data = "here's our sales by region, which region grew the most?\n\n\
                    region,q2,q3\nNortheast,182000,201500\nSoutheast,143500,139800\nMidwest,97200,121400";
        assert!(line(data, DataAnalysis).is_some_and(|l| l.contains("figures you compute")));
        assert_eq!(
            line(
                "which chart type is best for showing monthly sales?",
                DataAnalysis
            ),
            None,
            "no data of the user's, nothing to compute from"
        );
        let log = "Which endpoint causes the 5xx errors?\n\n\
                   10:01:02 ERROR /api/orders 502 upstream timed out\n10:01:05 ERROR /api/orders 502\n\
                   10:01:09 WARN /api/cart 499 client closed";
        assert_eq!(line(log, DataAnalysis), None, "a log is not a table of figures");
        assert_eq!(
            line(
                "Quick one: is a tomato legally a vegetable in the US? I heard there was a court case.",
                QuestionAnswering
            ),
            None
        );
        assert_eq!(
            line(
                "My roommate keeps eating my food. We're on a lease together for 7 more months. What should I do?",
                ProblemSolving
            )
            .filter(|l| l.contains("lawyer")),
            None,
            "a lease in passing is no legal question"
        );
        assert!(
            line(
                "wifi keeps disconnecting but only on my laptop, phone is fine",
                ProblemSolving
            )
            .is_some_and(|l| l.contains("likely causes"))
        );
    }

    #[test]
    fn no_line_for_light_terse_role_play_lookups_or_a_set_format() {
        assert_eq!(
            guidance(
                "Write a cover letter for a nurse job",
                &read("Write a cover letter for a nurse job"),
                CreativeWriting,
                Level::Light
            ),
            None
        );
        assert_eq!(line("capital of australia?", QuestionAnswering), None);
        assert_eq!(line("who wrote the book dune", QuestionAnswering), None);
        assert_eq!(
            line(
                "You are Elon Musk. Explain why we should go to Mars.",
                QuestionAnswering
            ),
            None
        );
        assert_eq!(
            line(
                "Give me a lasagna recipe as a JSON object with fields ingredients and steps",
                QuestionAnswering
            ),
            None,
            "a structural line never goes with the user's format"
        );
        assert_eq!(line("hey how are you doing today", Intent::Conversation), None);
    }

    #[test]
    fn a_mention_is_not_a_genre() {
        assert_eq!(
            line(
                "I retired last year and my daughter says I should start a blog about walking trails. I can do email and facebook but not much else. Where do I start?",
                TaskPlanning
            )
            .filter(|l| l.contains("purpose in the first sentence")),
            None,
            "email as a skill is not an email to write"
        );
        assert_eq!(
            line(
                "Three brothers: Ali is older than Omar. Karim is not the youngest. Who is oldest? explain",
                QuestionAnswering
            ),
            None,
            "explain after a puzzle asks for the working"
        );
    }

    #[test]
    fn a_tight_limit_leaves_the_shape_to_the_user() {
        assert_eq!(
            line(
                "Why do my ears pop on planes but not in a tall building's elevator? Explain like I'm 12, under 100 words.",
                QuestionAnswering
            ),
            None
        );
        assert_eq!(
            line(
                "Write a product description for my soy candles, cozy but not cheesy, 3 sentences max.",
                CreativeWriting
            ),
            None
        );
    }

    #[test]
    fn a_genre_line_never_fights_what_the_user_said() {
        assert!(
            line(
                "Here's the opening of my short story. Continue it for two paragraphs. Don't wrap it up, just move it forward.",
                CreativeWriting
            )
            .is_none_or(|l| !l.contains("ending")),
        );
        assert!(
            line(
                "how do i fix a grinding noise from my front wheel when braking",
                QuestionAnswering
            )
            .is_none_or(|l| !l.starts_with("Say what I need")),
            "a fault wants a diagnosis, not a procedure"
        );
        assert!(
            line(
                "why does my sourdough starter smell like nail polish",
                QuestionAnswering
            )
            .is_none_or(|l| !l.starts_with("Start with the core idea")),
            "why does MY thing do this is a problem, not a lesson"
        );
    }

    #[test]
    fn resume_the_verb_and_a_landing_page_test_are_not_their_genres() {
        assert_eq!(
            line(
                "The vet said Biscuit can resume normal activity after 14 days. What should I watch for meanwhile?",
                QuestionAnswering
            )
            .filter(|l| l.contains("strong verb")),
            None
        );
        assert_eq!(
            line(
                "A/B test of my landing page: A got 31 bookings of 1240 visits, B 44 of 1198. Is B better?",
                DataAnalysis
            ),
            None
        );
    }

    #[test]
    fn genres_apply_only_to_their_intents() {
        assert_eq!(
            line(
                "Summarize this article about the interview process at Google",
                Summarization
            ),
            None
        );
        assert!(line("Explain how vaccines train the immune system", QuestionAnswering).is_some());
        assert!(
            line("how do i reset my router to factory settings", QuestionAnswering)
                .is_some_and(|l| l.starts_with("Say what I need")),
            "a how-to is not an explanation"
        );
        assert_eq!(line("Explain this regex: ^a+$", CodeGeneration), None);
    }

    #[test]
    fn no_line_carries_a_length_or_a_format_name() {
        for g in GENRES {
            assert!(!g.line.chars().any(|c| c.is_ascii_digit()), "{}", g.line);
            for word in ["bullet", "table", "JSON"] {
                assert!(!g.line.contains(word), "{}: {word}", g.line);
            }
        }
    }

    #[test]
    fn a_significance_check_is_no_comparison_and_a_choice_gets_the_decision_line() {
        assert_eq!(
            line(
                "ab test: 2.1% vs 2.4% conversion, 5000 visitors each. significant??",
                DataAnalysis
            ),
            None
        );
        assert!(
            line(
                "I am trying to decide between two job offers, one remote and one hybrid. Which would you pick?",
                ProblemSolving
            )
            .is_some_and(|l| l.contains("clear recommendation"))
        );
    }

    #[test]
    fn a_method_question_and_a_personal_chat_get_no_conversation_or_memo_line() {
        assert_eq!(
            line(
                "Warehouse scores look worse but it's only 18 people. How do I tell if that's a real difference?",
                DataAnalysis
            ),
            None
        );
        assert_eq!(
            line(
                "How do I reply to this without making it worse? [group chat] Dani: can we talk about the dishes",
                ProblemSolving
            )
            .filter(|l| l.contains("first sentence")),
            None
        );
    }

    #[test]
    fn a_meeting_in_passing_is_no_meeting_notes() {
        assert_eq!(
            line(
                "Our HOA president said at the last meeting that speed bumps clearly work. Can you break \
                 down the weaknesses in this argument?",
                Summarization
            ),
            None
        );
    }

    #[test]
    fn a_vs_in_passing_in_a_long_plan_is_no_comparison() {
        let plan = "I'm retired and want to turn half of my garage into a woodworking shop over the winter. \
                    The space is 11 x 22 ft, one 15A circuit, no insulation, in Minnesota. Budget around \
                    $6,000. Give me a phased plan in the right order, with rough costs per phase and which \
                    parts I should hire out vs. do myself.";
        assert_eq!(
            line(plan, TaskPlanning).filter(|l| l.starts_with("Compare")),
            None
        );
        assert!(line("python vs javascript for a first language?", QuestionAnswering).is_some());
    }

    #[test]
    fn brevity_a_field_trip_and_a_refused_it_depends_get_no_line() {
        assert_eq!(
            line(
                "is it safe to take melatonin most nights? what dose works? Keep it short, I'll read it on my layover.",
                QuestionAnswering
            ),
            None
        );
        assert_eq!(
            line(
                "I got handed the spring field trip to the science museum. Make me a backwards timeline as a checklist.",
                TaskPlanning
            ),
            None
        );
        assert_eq!(
            line(
                "Should I wipe out the card with savings or keep the cushion? Give me a straight recommendation, not 'it depends'.",
                ProblemSolving
            ),
            None
        );
    }

    #[test]
    fn a_chosen_ending_and_a_speakers_own_notes_are_not_overruled() {
        assert_eq!(
            line(
                "Write a short story about a lighthouse keeper who finds a message in a bottle. End it on a cliffhanger.",
                CreativeWriting
            ),
            None
        );
        assert!(
            line(
                "Write a short story about a lighthouse keeper who finds a message in a bottle.",
                CreativeWriting
            )
            .is_some()
        );
        assert_eq!(
            line(
                "Need a best man speech, about 4 minutes, funny. Here are my notes: met at uni, satnav to Liverpool, proposal practice in a Nando's.",
                CreativeWriting
            ),
            None
        );
    }

    #[test]
    fn telling_causes_apart_a_method_question_and_a_payback_sum_get_no_talk_decision_or_comparison_line() {
        let tomato = "My greenhouse tomatoes have yellow leaves from the bottom up, between the veins. What's most likely going on, how do I tell between the possibilities, and what should I do this week?";
        assert_eq!(line(tomato, Intent::ProblemSolving), None);
        let survey = "The councillors want to know if we should prioritise new lighting or the play area. How should I actually analyse this survey, step by step, in Excel?";
        assert!(
            !line(survey, Intent::ProblemSolving).is_some_and(|l| l.contains("recommendation")),
            "a method question is no decision"
        );
        let boiler = "Heat pump at SCOP 3.1 and 24.5p/kWh vs a new gas boiler at 6.2p/kWh: walk me through the running costs and the payback period.";
        assert_eq!(line(boiler, Intent::Reasoning), None);
    }

    #[test]
    fn a_word_for_a_news_story_and_a_choice_between_gigs_get_no_story_or_party_line() {
        let word = "need a word besides 'said' for a news story that doesnt sound like im taking sides";
        assert!(!line(word, CreativeWriting).is_some_and(|l| l.contains("turning point")));
        assert!(
            line("write a short story about a lighthouse keeper", CreativeWriting)
                .is_some_and(|l| l.contains("turning point")),
            "a story to write keeps its line"
        );
        let gigs = "Got two offers for the same Saturday: the band gig pays $450, the hotel $300 and they might have me do their New Year's Eve party. I keep going back and forth. Can you help me think through this, not just the money?";
        let got = line(gigs, TaskPlanning);
        assert!(!got.is_some_and(|l| l.contains("day before")), "{got:?}");
        assert!(got.is_some_and(|l| l.contains("recommendation")), "{got:?}");
        assert!(
            line("help me plan a surprise party for my wife's 40th", TaskPlanning)
                .is_some_and(|l| l.contains("day before")),
            "a party to plan keeps its line"
        );
    }

    #[test]
    fn feedback_on_pasted_prose_gets_an_ordered_critique_but_not_on_code_figures_or_a_rewrite() {
        let statement = "Can you give me feedback on my personal statement? I'm applying to nursing school.\n\nEver since I was twelve and watched a nurse calm my grandmother in the ER, I have wanted to do that for other people. I worked as a CNA for two years.";
        assert!(line(statement, CreativeWriting).is_some_and(|l| l.contains("what works")));
        // Taken for a chat, still feedback on the text.
        let blog = "what do you think of this opening paragraph for my blog post about composting?\n\nComposting is something everyone should do. It is good for the earth and it is easy. In this post I will tell you why.";
        assert!(line(blog, Conversation).is_some_and(|l| l.contains("what works")));
        // Asked without the word "feedback".
        let resignation = "I need to send this resignation email tomorrow. Too blunt?\n\n\"Hi Karen, I'm writing to let you know I'm resigning from my position. My last day will be March 14. Thanks, Leo\"";
        assert!(line(resignation, Conversation).is_some_and(|l| l.contains("what works")));
        let listing = "Here's my Etsy listing, what would you change?\n\n\"Cozy Cabin Candle - 8oz. Made with 100% soy wax and a cotton wick. Scent notes: cedar, smoked vanilla and orange peel.\"";
        assert!(line(listing, ProblemSolving).is_some_and(|l| l.contains("what works")));
        let speech = "Here is my maid of honor speech. Can you tell me if it's too long, if any parts fall flat, and if the ending works? I don't want it rewritten completely.\n\n\"Hi everyone, for those who don't know me I'm Jess, and I've known Maria since we were seven.\"";
        assert!(line(speech, Conversation).is_some_and(|l| l.contains("what works")));
        // A new version asked for.
        let rewrite = "Give me feedback and then rewrite it:\n\nComposting is something everyone should do. It is good for the earth and it is easy.";
        assert!(!line(rewrite, CreativeWriting).is_some_and(|l| l.contains("what works")));
        // The word in the material, not in the ask.
        let notes = "Summarise these notes:\n\n- Rosa: customer feedback on checkout is bad\n- Keith: will look at the iframe\n- Amara: launch moved to May";
        assert!(!line(notes, Summarization).is_some_and(|l| l.contains("what works")));
        let code = "Review my function and tell me what you think:\n\n```python\ndef avg(xs):\n    return sum(xs) / len(xs)\n```";
        assert!(!line(code, CodeGeneration).is_some_and(|l| l.contains("what works")));
        // No text to judge.
        assert!(
            !line("what do you think of remote work?", Conversation)
                .is_some_and(|l| l.contains("what works"))
        );
    }

    #[test]
    fn a_budget_to_make_and_an_argument_to_judge_get_their_lines() {
        let budget = "We make about $5,200 a month after tax, rent is $1,650, car $410, and we never seem to have anything left. Can you help me make a budget?";
        assert!(line(budget, TaskPlanning).is_some_and(|l| l.contains("free the most money")));
        assert!(
            !line("3 days in lisbon on a tight budget, plan it", TaskPlanning)
                .is_some_and(|l| l.contains("free the most money")),
            "a trip on a budget is no budget to make"
        );
        let format = "Numbered list, maximum 7 steps: how to make a monthly family budget in Excel.";
        assert!(!line(format, TaskPlanning).is_some_and(|l| l.contains("free the most money")));
        let oped = "Found this in an op-ed and it rubbed me the wrong way but I can't put my finger on why:\n\n\"If we allow the city to ban cars from Main Street on Sundays, next they'll ban them on Saturdays, then every weekend, and before long nobody will be allowed to drive downtown at all. Local businesses will die, and our town will become a ghost town. We must stop this before it starts.\"\n\nIs this a good argument?";
        assert!(line(oped, Reasoning).is_some_and(|l| l.contains("strongest objection")));
        assert!(
            crate::domain::critiques_an_argument(&Lower::new(oped)),
            "no puzzle's standing rules"
        );
        let uncle = "my uncle keeps insisting at every family dinner that humans only use 10% of our brains and thats why some people have psychic abilities. is that true?";
        assert!(
            crate::domain::critiques_an_argument(&Lower::new(uncle)),
            "a claim to check, no puzzle"
        );
        let brains =
            "Is it true we only use 10 percent of our brains? My kid came home from school saying that.";
        assert!(line(brains, QuestionAnswering).is_some_and(|l| l.contains("evidence actually shows")));
        let argument = "Is this argument actually valid? My manager says: all our top reps use the CRM daily, so if everyone uses it daily, sales will go up.";
        assert!(line(argument, Reasoning).is_some_and(|l| l.contains("strongest objection")));
    }

    #[test]
    fn a_choice_not_to_be_made_for_me_words_for_a_talk_and_a_figure_to_report() {
        let offers = "Trying to decide between two job offers. A) $58k, fully remote. B) $64k, 3 days in office. Can you help me think it through instead of just picking one for me?";
        let got = line(offers, Reasoning);
        assert!(
            got.is_some_and(|l| l.contains("without choosing for me")),
            "{got:?}"
        );
        let talk = "I have a 1:1 with him on Thursday and I don't want it to feel like an ambush, but I can't ignore the numbers. What do I actually say? How should I open the conversation?";
        let got = line(talk, ProblemSolving);
        assert!(got.is_some_and(|l| l.contains("actual words")), "{got:?}");
        let report = "weekly ticket counts: 42, 38, 51, 47, 90, 44, 40. the 90 was an outage. what's a fair typical week to report to my manager, and how should i explain it?";
        assert!(!line(report, DataAnalysis).is_some_and(|l| l.contains("check it landed")));
    }

    #[test]
    fn ways_to_act_this_month_and_a_style_to_avoid_get_no_decision_or_post_line() {
        let friends = "i moved to denver 4 months ago and don't know anyone. what are realistic ways people actually make friends as adults in a new city, like concretely what should i do this month";
        assert!(!line(friends, ProblemSolving).is_some_and(|l| l.contains("recommendation")));
        let hinge = "I wrote this opener for a guy on Hinge. Give me 3 better ones. Write them like a funny 29 year old woman would, not like a LinkedIn post.";
        assert!(!line(hinge, CreativeWriting).is_some_and(|l| l.contains("hook")));
    }

    #[test]
    fn a_rewrite_asked_for_is_no_feedback_and_is_that_even_legal_is_a_legal_question() {
        let email = "Can you make this email sound more professional? I don't want to come across as demanding.\n\n\"hi, i need the invoice paid this week, its been 60 days. thanks\"";
        assert!(!line(email, Conversation).is_some_and(|l| l.contains("what works")));
        let landlord = "hey so my landlord says i have to pay for the dishwasher repair is that even legal?? its been broken since i moved in";
        assert!(line(landlord, ProblemSolving).is_some_and(|l| l.contains("lawyer")));
    }

    #[test]
    fn working_to_show_the_chairman_is_no_lesson_to_explain() {
        let milk = "Which farmer dropped the most from June to August, in litres and in percent? Please show how you calculated so I can explain it to the chairman, he likes to see the numbers.";
        assert!(!line(milk, DataAnalysis).is_some_and(|l| l.contains("check it landed")));
        assert!(
            crate::slots::read(milk).wants_reasoning,
            "the working is asked for"
        );
    }

    #[test]
    fn a_bake_that_keeps_coming_out_wrong_is_a_fault_to_find() {
        let bread = "sourdough keeps coming out flat and dense, starter looks fine. why";
        assert!(line(bread, Intent::ProblemSolving).is_some_and(|l| l.contains("most likely causes")));
        // "What should I try next?" asks for things to try, not a decision.
        let sink = "Bathroom sink drains super slowly. I've already poured Drano down it twice. What should I try next?";
        assert!(line(sink, Intent::ProblemSolving).is_some_and(|l| l.contains("most likely causes")));
        // How urgent comes first when that is what is asked.
        let wait = "My car makes a squealing noise for the first minute on cold mornings. Is this something I need to deal with right away or can it wait until my next oil change?";
        assert!(line(wait, Intent::ProblemSolving).is_some_and(|l| l.contains("safely wait")));
        // A value to set is no decision.
        assert_eq!(
            line("what temp should i set my fridge to", Intent::ProblemSolving),
            None
        );
        // A noise with no word of failure is a fault all the same.
        let civic = "My 2015 Honda Civic makes a clicking sound when I turn sharply, mostly going left out of parking lots. Gets faster when I speed up. What could it be?";
        assert!(line(civic, Intent::ProblemSolving).is_some_and(|l| l.contains("most likely causes")));
    }

    #[test]
    fn the_opening_of_a_story_gets_no_ending_to_pay_off() {
        let opening = "for english class we have to write the opening of a short story (like 250 words) set in our own town. can you write an example opening so i can see the tone";
        assert!(!line(opening, Intent::CreativeWriting).is_some_and(|l| l.contains("turning point")));
        let whole = "Write a short story about a lighthouse keeper who finds a message in a bottle.";
        assert!(line(whole, Intent::CreativeWriting).is_some_and(|l| l.contains("turning point")));
    }

    #[test]
    fn a_plan_until_a_date_and_a_launch_plan_get_no_decision_line() {
        let sale = "I'm organising a charity bake sale on Saturday 14 June. Budget is £150. What should I do between now (start of May) and the day, and how should I split the budget?";
        assert!(!line(sale, Intent::ProblemSolving).is_some_and(|l| l.contains("recommendation")));
    }

    #[test]
    fn illegal_in_passing_who_to_loop_in_and_error_cases_set_off_nothing() {
        let bike = "I rewired half of it because the previous owner had done things with electrical tape that should honestly be illegal. Is it weird to get this attached to an old machine?";
        assert!(!line(bike, Intent::QuestionAnswering).is_some_and(|l| l.contains("lawyer")));
        assert!(
            line(
                "is it illegal to park on the pavement in the UK?",
                Intent::QuestionAnswering
            )
            .is_some_and(|l| l.contains("lawyer"))
        );
        let offsite = "I need a planning timeline for our offsite: what do I need to book or decide and by when, and who should I loop in at each step?";
        assert!(!line(offsite, Intent::TaskPlanning).is_some_and(|l| l.contains("recommendation")));
        let port = "Can you port this Python function to TypeScript and write Jest tests including the error cases?\n\ndef f(s):\n    return int(s)";
        assert!(!line(port, Intent::CodeGeneration).is_some_and(|l| l.contains("corrected code")));
    }

    #[test]
    fn ideas_for_a_story_are_options_not_one_story() {
        let ideas = "ideas for a spooky story to tell around a campfire with a bunch of 10 year olds?";
        assert!(!line(ideas, Intent::CreativeWriting).is_some_and(|l| l.contains("turning point")));
    }

    #[test]
    fn asking_what_to_do_in_what_order_is_no_decision() {
        let mould = "Tenant in my basement unit has black spots on the bedroom wall and condensation on the windows every morning. What should I do, in what order, and what should I tell her?";
        assert!(!line(mould, Intent::ProblemSolving).is_some_and(|l| l.contains("recommendation")));
        let choice = "My basement tenant wants a dehumidifier. Should I buy one for the unit or fix the bathroom fan first?";
        assert!(line(choice, Intent::ProblemSolving).is_some_and(|l| l.contains("recommendation")));
    }

    #[test]
    fn two_things_explained_to_a_child_are_not_compared_point_by_point() {
        let kid = "My son (he's 10) asked why insurance pays for hail dents. Can you explain the difference between comprehensive and collision coverage in a way a 10-year-old would get? Short, with an example or two.";
        assert_eq!(line(kid, Intent::QuestionAnswering), None);
        let adult = "Can you explain the difference between comprehensive and collision coverage? I'm choosing a policy.";
        assert!(line(adult, Intent::QuestionAnswering).is_some_and(|l| l.contains("point by point")));
    }

    #[test]
    fn a_trip_in_passing_a_puzzles_working_and_an_answer_said_aloud_get_no_genre_line() {
        let papers = "My green card expires in 5 months and I just became eligible for citizenship. Should I renew or file the N-400? Lay out a step-by-step plan with rough timing. I travel a lot, including a 3-week trip abroad in two months, if that matters.";
        assert!(!line(papers, Intent::TaskPlanning).is_some_and(|l| l.contains("day by day")));
        let roster = "Four shifts, four volunteers, each works exactly 2 shifts, nobody back to back. Is there a schedule that works? Show the reasoning step by step so I can explain it to the captain.";
        assert!(!line(roster, Intent::Reasoning).is_some_and(|l| l.contains("check it landed")));
        let aloud = "Why do stars twinkle but Venus doesn't? Give me an answer I can say out loud in under 60 seconds, and a quick comparison people can try through the telescopes.";
        assert!(!line(aloud, Intent::Reasoning).is_some_and(|l| l.contains("point by point")));
    }

    #[test]
    fn an_email_received_is_not_an_email_to_write() {
        let got = "Yesterday I got an email from the landlord saying he keeps $950 of my deposit. Is he allowed to deduct damage from a last month's rent deposit in Ontario? I'd like to know where I stand before I reply to his email.";
        assert!(!line(got, Intent::ProblemSolving).is_some_and(|l| l.contains("first sentence")));
        let write = "Write an email to my landlord asking for my deposit back by Friday.";
        assert!(line(write, Intent::CreativeWriting).is_some_and(|l| l.contains("first sentence")));
    }

    #[test]
    fn minutes_of_time_are_no_meeting_minutes() {
        assert_eq!(
            line(
                "Here's the policy:\n\n4.3.3 Where a second nurse is not available within 15 minutes, proceed.\n\nCan I give insulin alone?",
                Summarization
            ),
            None
        );
    }

    #[test]
    fn maybe_one_thing_under_two_names_is_no_comparison() {
        assert_eq!(
            line(
                "what's the difference between a luthier and a violin maker, or is there none",
                QuestionAnswering
            ),
            None
        );
    }

    #[test]
    fn the_corrected_code_line_needs_code_to_correct() {
        assert_eq!(
            line(
                "My ESP32 hive scale dies when it sends an SMS. Serial log:\n\nrst:0x1 (POWERON_RESET)\nBrownout detector was triggered\n\nHow do I fix it properly?",
                CodeGeneration
            ),
            None
        );
        assert!(
            line(
                "This crashes with an IndexError, fix it:\n\n```python\ndef first(xs):\n    return xs[0]\n```",
                CodeGeneration
            )
            .is_some()
        );
    }

    #[test]
    fn a_move_this_weekend_and_a_childs_sleep_get_no_lead_times_or_diagnosis() {
        assert_eq!(
            line(
                "moving 2br apt this weekend, uhaul fri 5pm to sun noon, friends help sat morning. help me make a schedule",
                TaskPlanning
            ),
            None
        );
        assert!(line("moving apartments in 4 weeks, make me a checklist", TaskPlanning).is_some());
        assert_eq!(
            line(
                "Our 3-year-old has started refusing his bed, screaming for an hour. What can we try, in what order, and how long before deciding it's not working?",
                ProblemSolving
            ),
            None
        );
        assert!(line("my dishwasher is not working, it stops mid-cycle", ProblemSolving).is_some());
    }
}
