-- Revert 0011.
DROP FUNCTION public.bp_history_owner(uuid);
