from django.db import models


class Row(models.Model):
    """One captured row with an indexed key, like Lead.email_key."""

    email = models.CharField(max_length=254, db_index=True)
    name = models.CharField(max_length=200, blank=True)
    company = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField()
