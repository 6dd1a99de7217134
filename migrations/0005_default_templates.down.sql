DELETE FROM prompts.templates
WHERE created_by IS NULL
  AND slug IN ('chain-of-thought', 'tree-of-thoughts', 'few-shot-learning', 'zero-shot',
               'self-consistency', 'role-playing', 'step-by-step', 'structured-output',
               'analogical-reasoning', 'react', 'emotional-appeal', 'constraints');
