#include "jobd/jobd.h"

int
media_job_dropped(struct jobd *jd, int64_t jid, int64_t now_ms)
{
	(void)jd; (void)jid; (void)now_ms;
	return 0;
}
int
lease_expire(struct jobd *jd, int64_t now_ms)
{
	(void)jd; (void)now_ms;
	return 0;
}
