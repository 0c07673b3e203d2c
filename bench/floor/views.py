"""One indexed lookup and one insert per captured row, in one transaction."""

import json

from django.db import transaction
from django.http import JsonResponse
from django.utils import timezone

from bench.floor.models import Row


def healthz(request):
    return JsonResponse({"ok": True})


def capture(request):
    data = json.loads(request.body)
    with transaction.atomic():
        row = Row.objects.filter(email=data["email"]).first()
        created = row is None
        if created:
            row = Row.objects.create(
                email=data["email"],
                name=data.get("name", ""),
                company=data.get("company", ""),
                created_at=timezone.now(),
            )
    return JsonResponse({"id": row.pk, "created": created}, status=201 if created else 200)


def capture_batch(request):
    items = json.loads(request.body)["leads"]
    now = timezone.now()
    with transaction.atomic():
        known = set(
            Row.objects.filter(email__in=[i["email"] for i in items]).values_list(
                "email", flat=True
            )
        )
        rows = [
            Row(
                email=i["email"],
                name=i.get("name", ""),
                company=i.get("company", ""),
                created_at=now,
            )
            for i in items
            if i["email"] not in known
        ]
        Row.objects.bulk_create(rows)
    return JsonResponse({"created": len(rows), "matched": len(items) - len(rows)})
