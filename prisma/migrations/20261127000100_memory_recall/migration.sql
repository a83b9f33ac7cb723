-- Long-term memory recall that stays correct inside one tenant.
--
-- Every memory search is scoped to one (tenant, agent). One HNSW index over the whole table
-- cannot serve that: the tenant filter is applied after the graph walk, and at default
-- settings recall@10 was 0.05 for a tenant holding 1 % of the rows. So the plan depends on
-- the size of the (tenant, agent) group:
--   * below a threshold: exact search, the B-tree on (tenant_id, agent_id) then a top-k sort;
--   * at or above it: a partial HNSW index that holds exactly that group's rows, queried
--     with hnsw.iterative_scan so the remaining filters (embedding model, end user) cannot
--     starve the result. Not for the built-in hashing embedder: its vectors are searched
--     exactly at any size (see konstruct_memory_ensure_indexes).
-- The partial indexes are created and dropped by konstruct_memory_ensure_indexes(), run by a
-- maintenance job as the table owner; the application finds them by name
-- (konstruct_memory_ann_index_name) and picks the plan accordingly.

CREATE FUNCTION konstruct_memory_ann_index_name(p_tenant uuid, p_agent uuid) RETURNS text
  LANGUAGE sql IMMUTABLE PARALLEL SAFE
  AS $$ SELECT 'memory_items_ann_' || md5(p_tenant::text || ':' || p_agent::text) $$;
GRANT EXECUTE ON FUNCTION konstruct_memory_ann_index_name(uuid, uuid) TO konstruct_app;

-- Creates the partial HNSW index of every (tenant, agent) group with at least p_threshold
-- memories, and drops the index of a group that shrank below half of it (the gap keeps a
-- group near the threshold from flapping) or no longer exists. p_tenant limits the work to
-- one tenant. Rows embedded by p_exact_models are not counted: those models are always
-- searched exactly (the built-in hashing embedder's sparse lexical vectors defeat HNSW). With p_apply false nothing changes: the rows say what would be done, and `ddl`
-- is the statement to run outside a transaction (CREATE INDEX CONCURRENTLY does not block
-- writers; it cannot run inside this function).
CREATE FUNCTION konstruct_memory_ensure_indexes(
  p_threshold integer DEFAULT 20000,
  p_tenant uuid DEFAULT NULL,
  p_apply boolean DEFAULT true,
  p_exact_models text[] DEFAULT ARRAY['konstruct-hash-384']
)
  RETURNS TABLE (index_name text, tenant_id uuid, agent_id uuid, row_count bigint, action text, ddl text)
  LANGUAGE plpgsql
  -- An HNSW build that does not fit in memory falls back to a much slower on-disk build.
  SET maintenance_work_mem = '256MB'
AS $$
DECLARE
  ts uuid[];
  ags uuid[];
  ns bigint[];
  orphans text[];
  n integer;
  has_index boolean;
BEGIN
  IF p_threshold IS NULL OR p_threshold < 1 THEN
    RAISE EXCEPTION 'p_threshold must be a positive number of rows, got %', p_threshold;
  END IF;
  -- Collected into arrays first: CREATE INDEX refuses while a loop's cursor over the table is open.
  SELECT array_agg(x.t ORDER BY x.t, x.a), array_agg(x.a ORDER BY x.t, x.a), array_agg(x.c ORDER BY x.t, x.a)
    INTO ts, ags, ns
    FROM (SELECT m.tenant_id AS t, m.agent_id AS a, count(*) AS c
            FROM memory_items m
           WHERE (p_tenant IS NULL OR m.tenant_id = p_tenant)
             AND m.embedding_model <> ALL (coalesce(p_exact_models, ARRAY[]::text[]))
           GROUP BY m.tenant_id, m.agent_id) x;
  -- Indexes of groups that have no memories left (agent deleted, everything forgotten).
  SELECT array_agg(c.relname::text ORDER BY c.relname)
    INTO orphans
    FROM pg_index ix
    JOIN pg_class c ON c.oid = ix.indexrelid
   WHERE ix.indrelid = 'public.memory_items'::regclass
     AND c.relname LIKE 'memory\_items\_ann\_%'
     AND (p_tenant IS NULL OR pg_get_expr(ix.indpred, ix.indrelid) LIKE '%' || p_tenant::text || '%')
     AND NOT EXISTS (
       SELECT 1 FROM unnest(ts, ags) AS grp(t, a)
        WHERE konstruct_memory_ann_index_name(grp.t, grp.a) = c.relname::text);

  FOR n IN 1 .. coalesce(array_length(ts, 1), 0) LOOP
    index_name := konstruct_memory_ann_index_name(ts[n], ags[n]);
    tenant_id := ts[n];
    agent_id := ags[n];
    row_count := ns[n];
    has_index := to_regclass(format('public.%I', index_name)) IS NOT NULL;
    IF ns[n] >= p_threshold AND NOT has_index THEN
      action := 'create';
      ddl := format(
        'CREATE INDEX CONCURRENTLY IF NOT EXISTS %I ON public.memory_items USING hnsw (embedding vector_cosine_ops) WHERE tenant_id = %L::uuid AND agent_id = %L::uuid',
        index_name, ts[n], ags[n]);
    ELSIF has_index AND ns[n] < p_threshold / 2 THEN
      action := 'drop';
      ddl := format('DROP INDEX CONCURRENTLY IF EXISTS public.%I', index_name);
    ELSIF has_index THEN
      action := 'keep';
      ddl := NULL;
    ELSE
      CONTINUE;
    END IF;
    IF p_apply AND ddl IS NOT NULL THEN EXECUTE replace(ddl, 'CONCURRENTLY ', ''); END IF;
    RETURN NEXT;
  END LOOP;

  FOR n IN 1 .. coalesce(array_length(orphans, 1), 0) LOOP
    index_name := orphans[n];
    tenant_id := NULL;
    agent_id := NULL;
    row_count := 0;
    action := 'drop';
    ddl := format('DROP INDEX CONCURRENTLY IF EXISTS public.%I', orphans[n]);
    IF p_apply THEN EXECUTE replace(ddl, 'CONCURRENTLY ', ''); END IF;
    RETURN NEXT;
  END LOOP;
END $$;
-- Table owner only (index DDL needs ownership anyway): never the application roles.
REVOKE EXECUTE ON FUNCTION konstruct_memory_ensure_indexes(integer, uuid, boolean, text[]) FROM PUBLIC;
