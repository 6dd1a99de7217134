-- Migration: restrained default templates (engine v2)
-- Version: 0013
-- Description: the engine's built-in templates now add only what a prompt
-- justifies: no canned examples, no filler, no "final answer on its own
-- line", and a role only from the prompt's subject. Default rows still
-- holding the 0005 text get the new text; a template an operator edited is
-- left alone. Variables: {{prompt}}, {{role}}, {{sections}},
-- {{constraints}}, {{stakes}} (and the older {{domain}}, {{format}},
-- {{examples}}, {{intent}}, {{complexity}}).

UPDATE prompts.templates SET template_text = E'{{prompt}}\n\nThink the problem through step by step before you answer.', variables = '["prompt"]'
 WHERE technique = 'chain_of_thought' AND template_text = E'{{prompt}}\n\nLet''s think step by step. Work through the problem one step at a time, show the reasoning behind each step, and then state the final answer clearly on its own line.';
UPDATE prompts.templates SET template_text = E'{{prompt}}\n\nConsider two or three different approaches, say briefly why you choose one, then carry it through.', variables = '["prompt"]'
 WHERE technique = 'tree_of_thoughts' AND template_text = E'{{prompt}}\n\nExplore this as a tree of thoughts:\n1. Propose three distinct approaches.\n2. For each, reason a few steps ahead and rate it: promising, uncertain or dead end.\n3. Develop the most promising approach fully, backtracking to another if it fails.\n4. Give the final answer and explain why that branch won.';
UPDATE prompts.templates SET template_text = E'{{prompt}}\n\nFollow the pattern of the examples I gave.', variables = '["prompt"]'
 WHERE technique = 'few_shot' AND template_text = E'Here are examples of this task done well:\n\n{{examples}}\n\nFollowing the same approach, format and level of detail, now handle this one:\n{{prompt}}';
UPDATE prompts.templates SET template_text = E'{{prompt}}', variables = '["prompt"]'
 WHERE technique = 'zero_shot' AND template_text = E'{{prompt}}\n\nAnswer directly and precisely. If the request is ambiguous, state the interpretation you chose.';
UPDATE prompts.templates SET template_text = E'{{prompt}}\n\nBefore you answer, check the result a second, independent way.', variables = '["prompt"]'
 WHERE technique = 'self_consistency' AND template_text = E'{{prompt}}\n\nSolve this three times, independently, using a different line of reasoning each time. Then compare the three results and give the answer most of them agree on, noting any disagreement and what caused it.';
UPDATE prompts.templates SET template_text = E'You are {{role}}.\n\n{{prompt}}', variables = '["role", "prompt"]'
 WHERE technique = 'role_play' AND template_text = E'You are {{role}}, with deep, practical expertise in {{domain}}. Answer as that expert would: use the field''s vocabulary, point out the pitfalls a newcomer would miss, and be concrete.\n\n{{prompt}}';
UPDATE prompts.templates SET template_text = E'{{prompt}}\n\nSet the answer out as numbered steps.', variables = '["prompt"]'
 WHERE technique = 'step_by_step' AND template_text = E'{{prompt}}\n\nBreak the work into clear, numbered steps. Finish each step before starting the next, say what each step produces, and summarise the result at the end.';
UPDATE prompts.templates SET template_text = E'{{prompt}}\n\nOrganise the answer with {{sections}}.', variables = '["prompt", "sections"]'
 WHERE technique = 'structured_output' AND template_text = E'{{prompt}}\n\nFormat the response as {{format}} with these sections: {{sections}}. Follow the structure exactly and add nothing outside it.';
UPDATE prompts.templates SET template_text = E'{{prompt}}\n\nWhere it helps, explain with an analogy to something familiar.', variables = '["prompt"]'
 WHERE technique = 'analogical' AND template_text = E'{{prompt}}\n\nFirst recall a similar, well-understood problem and how it is solved. Then map that solution onto this problem, noting where the analogy holds and where it breaks down, and give the adapted solution.';
UPDATE prompts.templates SET template_text = E'{{prompt}}\n\nWork in short cycles: what you check next, what it shows, and what follows from it, until you can answer.', variables = '["prompt"]'
 WHERE technique = 'react' AND template_text = E'{{prompt}}\n\nWork in Thought / Action / Observation cycles: state what you think, the action you would take next (look something up, calculate, test, check), and what it shows. Repeat until you can give a final answer, then give it.';
UPDATE prompts.templates SET template_text = E'{{prompt}}\n\n{{stakes}}, so be accurate and say where you are unsure.', variables = '["prompt", "stakes"]'
 WHERE technique = 'emotional_appeal' AND template_text = E'{{prompt}}\n\nThis matters a great deal to me and to the people who will rely on the result, so please be careful, thorough and honest about anything you are unsure of.';
UPDATE prompts.templates SET template_text = E'{{prompt}}\n\nRequirements:\n{{constraints}}', variables = '["prompt", "constraints"]'
 WHERE technique = 'constraints' AND template_text = E'{{prompt}}\n\nConstraints:\n{{constraints}}\n\nRespect every constraint. If one cannot be met, say which one and why instead of silently ignoring it.';
