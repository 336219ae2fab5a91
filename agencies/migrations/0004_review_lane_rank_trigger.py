from django.db import migrations

# The queue sorts an agency's open reviews red first, then oldest. The lane
# lives on the declaration and changes there (risk assessment, a supervisor's
# override), whichever code path does it; this trigger keeps each review's
# lane_rank in step so the queue reads one index instead of joining and
# sorting every open review of the agency.
LANE_RANK_TRIGGER = """
CREATE FUNCTION agencies_review_lane_rank() RETURNS trigger AS $$
BEGIN
    UPDATE agencies_review
       SET lane_rank = CASE NEW.lane WHEN 'red' THEN 0 WHEN 'yellow' THEN 1
                                     WHEN 'green' THEN 2 ELSE 3 END
     WHERE declaration_id = NEW.id;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER agencies_review_lane_rank
AFTER UPDATE OF lane ON declarations_declaration
FOR EACH ROW WHEN (OLD.lane IS DISTINCT FROM NEW.lane)
EXECUTE FUNCTION agencies_review_lane_rank();

UPDATE agencies_review r
   SET lane_rank = CASE d.lane WHEN 'red' THEN 0 WHEN 'yellow' THEN 1
                               WHEN 'green' THEN 2 ELSE 3 END
  FROM declarations_declaration d
 WHERE d.id = r.declaration_id;
"""

DROP_TRIGGER = """
DROP TRIGGER IF EXISTS agencies_review_lane_rank ON declarations_declaration;
DROP FUNCTION IF EXISTS agencies_review_lane_rank();
"""


class Migration(migrations.Migration):
    dependencies = [
        ("agencies", "0003_inspection_laneoverride_permit_query_and_more"),
    ]

    operations = [migrations.RunSQL(LANE_RANK_TRIGGER, DROP_TRIGGER)]
