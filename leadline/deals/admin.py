from django.contrib import admin

from leadline.deals.models import Account, Contact, Opportunity


@admin.register(Account)
class AccountAdmin(admin.ModelAdmin):
    list_display = ("name", "domain", "owner", "industry", "employees")
    search_fields = ("name", "domain")


@admin.register(Contact)
class ContactAdmin(admin.ModelAdmin):
    list_display = ("__str__", "email", "account")
    search_fields = ("email", "last_name")


@admin.register(Opportunity)
class OpportunityAdmin(admin.ModelAdmin):
    list_display = ("name", "account", "owner", "stage", "amount", "source", "created_at")
    list_filter = ("stage", "source")
